import { hostname } from 'node:os';
import type { Store } from '../contracts/store.js';
import type { ComponentHealth } from '../gateway/gateway-context.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { chooseStore } from '../store/store-choice.js';
import type { ClusterNode } from './cluster-node.js';

/**
 * What the rest of the gateway sees of cluster mode. With SQLite (one node) it is `single`: every
 * lane, account and schedule is this node's, and nothing is published.
 */
export type Cluster = { enabled: false; nodeId: string } | (ClusterNode & { enabled: true });

interface ClusterDeps extends Pick<GatewayBase, 'config' | 'logger' | 'paths' | 'env'> {
  store: Pick<Store, 'kind'>;
  /** The port the gateway is asked to listen on (part of the default node id). */
  port?: number;
}

/** `cluster.nodeId`, else HEARTH_NODE_ID, else `<host name>:<port>` (the process id when the port is chosen by the system). */
export function clusterNodeId(configured: string | undefined, env: Record<string, string | undefined>, port: number, pid: number): string {
  return configured ?? env.HEARTH_NODE_ID?.trim() ?? `${hostname()}:${port > 0 ? port : `pid${pid}`}`;
}

/**
 * Cluster mode (store.kind "postgres"): this node's heartbeat, its leases (sessions, channel
 * accounts, the cron schedule), the event bus to its peers, and the check that it sees the same
 * workspaces they do. Started right after the store; stopped just before it, releasing what it
 * holds so other nodes take over at once.
 */
export const clusterSubsystem = defineSubsystem({
  name: 'cluster',
  async start(deps: ClusterDeps) {
    const settings = deps.config.current();
    const nodeId = clusterNodeId(settings.cluster.nodeId, deps.env, deps.port ?? settings.gateway.port, process.pid);
    if (deps.store.kind !== 'postgres') return { api: { enabled: false, nodeId } as Cluster };
    const choice = chooseStore(settings, deps.env, deps.paths);
    if (choice.kind !== 'postgres') return { api: { enabled: false, nodeId } as Cluster };
    // Loaded only in cluster mode: the PostgreSQL client is no part of a single gateway's start.
    const { createClusterNode } = await import('./cluster-node.js');
    const node = await createClusterNode({ url: choice.url, nodeId, leaseMs: settings.cluster.leaseMs, workspacesDir: deps.paths.workspacesDir, logger: deps.logger });
    deps.logger.info({ nodeId, leaseMs: settings.cluster.leaseMs }, 'cluster mode: this node shares its state with the other gateways on the same PostgreSQL database');
    return {
      api: { ...node, enabled: true } as Cluster,
      health: (): ComponentHealth => node.health(),
      drain: () => node.drain(),
      stop: () => node.stop(),
    };
  },
});

import pg from 'pg';
import { resolveHearthPaths } from '../config/paths.js';
import { redactUrl } from '../store/postgres/postgres-runner.js';
import { chooseStore } from '../store/store-choice.js';
import { isAlive, type LeaseRow, type NodeRow, readLeases, readNodes } from '../cluster/leases.js';
import { cliConfig, CliFailure, type CliRuntime } from './cli-context.js';

interface NodeView extends NodeRow {
  alive: boolean;
  holds: string[];
}

/** What `hearth cluster status --json` prints. */
export interface ClusterStatus {
  database: string;
  leaseMs: number;
  nodes: NodeView[];
  leases: LeaseRow[];
}

/** Reads the cluster's nodes and leases straight from the shared database (no gateway needed). */
export async function readClusterStatus(url: string, leaseMs: number): Promise<ClusterStatus> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const exists = await client.query<{ ready: boolean }>("SELECT to_regclass('cluster_nodes') IS NOT NULL AND to_regclass('cluster_leases') IS NOT NULL AS ready");
    if (!exists.rows[0]?.ready) return { database: redactUrl(url), leaseMs, nodes: [], leases: [] };
    const [nodes, leases] = [await readNodes(client), await readLeases(client)];
    return {
      database: redactUrl(url),
      leaseMs,
      nodes: nodes.map((node) => ({
        ...node,
        alive: isAlive(node, leaseMs),
        holds: leases.filter((lease) => lease.holder === node.nodeId && lease.expiresInMs > 0).map((lease) => lease.name),
      })),
      leases,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function printStatus(runtime: CliRuntime, status: ClusterStatus): void {
  const { out } = runtime.io;
  out(`Cluster on ${status.database} (leases last ${seconds(status.leaseMs)})\n`);
  if (status.nodes.length === 0) out('  No node has joined yet: start `hearth gateway` with this config on each node.\n');
  for (const node of status.nodes) {
    out(`  ${node.alive ? 'alive' : 'GONE '}  ${node.nodeId}  ${node.url || '(no address yet)'}  heartbeat ${seconds(node.heartbeatAgeMs)} ago  up since ${new Date(node.startedAt).toISOString()}\n`);
    const channels = node.holds.filter((name) => name.startsWith('channel:')).map((name) => name.slice('channel:'.length));
    const sessions = node.holds.filter((name) => name.startsWith('session:')).length;
    const parts = [node.holds.includes('cron:schedule') ? 'the cron schedule' : null, channels.length > 0 ? `channels ${channels.join(', ')}` : null, sessions > 0 ? `${sessions} session(s) running` : null].filter((part) => part !== null);
    out(`         holds: ${parts.length > 0 ? parts.join('; ') : 'nothing'}\n`);
  }
  const expired = status.leases.filter((lease) => lease.expiresInMs <= 0);
  if (expired.length > 0) out(`  Waiting for a node to take over: ${expired.map((lease) => `${lease.name} (was ${lease.holder}'s, expired ${seconds(-lease.expiresInMs)} ago)`).join(', ')}\n`);
}

/** `hearth cluster status [--json]`. */
export async function runClusterStatus(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const config = cliConfig(paths, runtime.env);
  const choice = chooseStore(config, runtime.env, paths);
  if (choice.kind !== 'postgres') {
    throw new CliFailure('This home keeps its state in SQLite: it is a single node, not a cluster. Cluster mode needs store: { kind: "postgres", url } (or HEARTH_DATABASE_URL) on every node (docs/cluster.md).');
  }
  const status = await readClusterStatus(choice.url, config.cluster.leaseMs).catch((error: unknown) => {
    throw new CliFailure(`The cluster's database at ${redactUrl(choice.url)} did not answer: ${error instanceof Error ? error.message : String(error)}. Check store.url / HEARTH_DATABASE_URL and that PostgreSQL runs.`);
  });
  if (options.json) runtime.io.out(`${JSON.stringify(status, null, 2)}\n`);
  else printStatus(runtime, status);
}

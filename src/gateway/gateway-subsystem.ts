import { failoverOrder, withRetryIn } from '../providers/provider-status.js';
import type { Plugins } from '../plugins/plugins-subsystem.js';
import { hostFor } from './bind-host.js';
import type { Mcp } from '../mcp/mcp-subsystem.js';
import type { BackupsStatus } from '../backups/backups-subsystem.js';
import type { RetentionStatus } from '../retention/retention-subsystem.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import { readChannelCredentials, removeChannelCredentials, writeChannelCredentials } from '../channels/channel-credentials.js';
import type { Channels } from '../channels/channels-subsystem.js';
import type { Automation } from '../automation/cron-subsystem.js';
import type { AlertSink } from '../automation/alerts.js';
import type { Store } from '../contracts/store.js';
import type { Memory } from '../memory/memory-subsystem.js';
import { createConfigEditor } from '../config/config-editor.js';
import type { HearthConfig } from '../config/schema.js';
import { gatewayLogPath } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Models } from '../providers/models-subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { listQuarantinedFiles } from '../runtime/quarantine.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { Turns } from '../sessions/turns-subsystem.js';
import { removeGatewayAddress, writeGatewayAddress } from './gateway-address-file.js';
import type { ComponentHealth, GatewayContext } from './gateway-context.js';
import { createGatewayServer } from './gateway-server.js';
import { createLoopLagMeter } from './event-loop-lag.js';

/** How long a draining gateway lets requests it already took reach the turn service. */
const ACCEPTED_REQUEST_GRACE_MS = 250;

export interface GatewayAddress {
  port: number;
  host: string;
  /** Where a local client reaches the gateway (127.0.0.1 when bound to every interface). */
  url: string;
}

export interface GatewayServerDeps extends GatewayBase {
  store: Store;
  models: Models;
  metrics: Pick<Metrics, 'render' | 'contentType'>;
  alerts: Pick<AlertSink, 'list'>;
  turns: Turns;
  channels: Channels;
  cron: Automation;
  memory: Memory;
  approvals: ApprovalService;
  mcp: Mcp;
  plugins: Plugins;
  /** The retention settings in force, its last pass and its next (`hearth status`). */
  retention: { status(): RetentionStatus };
  /** The backup settings in force, the last backup and the next (`hearth status`). */
  backups: { status(): BackupsStatus };
  /** Every started subsystem's health, by name (`/readyz`). */
  components(): Record<string, ComponentHealth>;
  /** `--port` and `--bind`, which win over the config. */
  port?: number | undefined;
  bind?: string | undefined;
  /** A listening socket's descriptor handed over by `hearth service` (wins over port and bind). */
  listenFd?: number | undefined;
}

/** Configured credentials (provider keys, channel tokens), redacted from anything shown. */
function collectSecrets(token: string, config: HearthConfig, credentialsDir: string): string[] {
  const found: string[] = [token];
  for (const provider of Object.values(config.models.providers)) {
    if (provider.apiKey) found.push(provider.apiKey);
    for (const value of Object.values(provider.headers ?? {})) found.push(value);
  }
  const collect = (value: unknown, key = ''): void => {
    if (typeof value === 'string' && /token|secret|password/iu.test(key)) found.push(value);
    else if (value && typeof value === 'object') for (const [name, item] of Object.entries(value)) collect(item, name);
  };
  collect(config.channels);
  collect(readChannelCredentials(credentialsDir), 'token');
  return found.filter((value) => value.length >= 6);
}

/** The full report for `status` and `hearth status`. */
async function statusReport(deps: GatewayServerDeps, gateway: () => Record<string, unknown>): Promise<Record<string, unknown>> {
  const { version, startedAt, paths, config, models, turns, channels, cron, alerts, store } = deps;
  const directory = models.agents();
  const now = Date.now();
  const providers = models.providerHealth();
  return {
    version,
    pid: process.pid,
    uptimeMs: Date.now() - startedAt,
    home: paths.home,
    config: { path: paths.configPath, source: config.source(), hash: config.hash(), lastReload: config.lastReload() },
    gateway: gateway(),
    models: { source: models.source(), ...models.health(), providers: providers.map((health) => withRetryIn(health, now)) },
    agents: directory.list().map((agent) => ({
      id: agent.id,
      default: agent.id === directory.defaultAgentId,
      models: agent.modelRefs,
      failover: failoverOrder(agent.modelRefs, providers, now),
      workspace: agent.workspaceDir,
    })),
    turns: { ...turns.lanes.stats(), active: turns.service.activeRuns() },
    channels: await channels.manager.status(),
    cron: cron.scheduler.health(),
    heartbeats: cron.heartbeats.status(),
    spend: await turns.budgets.today(directory.list().map((agent) => `agent:${agent.id}`)),
    alerts: (await alerts.list(5)).map((alert) => ({ event: alert.event, status: alert.status, createdAt: alert.createdAt, lastError: alert.lastError, payload: alert.payload })),
    store: { kind: store.kind, ...store.health?.() },
    quarantine: { files: listQuarantinedFiles(paths.home), rows: (await store.quarantinedRows?.()) ?? [] },
    memory: deps.memory.healthCheck.report(),
    approvals: { pending: (await deps.approvals.list({ limit: 100 })).length },
    mcp: { servers: deps.mcp.servers() },
    plugins: deps.plugins.status(),
    retention: deps.retention.status(),
    backups: deps.backups.status(),
  };
}

/** What the HTTP and WS control plane sees of the rest of the gateway. */
function gatewayContext(deps: GatewayServerDeps, gateway: () => Record<string, unknown>): GatewayContext {
  const { version, startedAt, logger, store, turns, channels, metrics, cron, alerts, models, config, token, paths } = deps;
  const secrets = () => collectSecrets(token, config.current(), paths.credentialsDir);
  return {
    version,
    startedAt,
    logger,
    logFile: gatewayLogPath(paths.logsDir),
    store,
    turns: turns.service,
    channels: channels.manager,
    channelHealth: channels.health,
    metrics,
    cron: cron.scheduler,
    alerts,
    budgets: turns.budgets,
    reloadChannels: channels.reload,
    agents: models.agents,
    memory: deps.memory.service,
    memoryHealth: deps.memory.healthCheck.report,
    approvals: deps.approvals,
    plugins: deps.plugins,
    config: config.current,
    configFile: createConfigEditor({ path: paths.configPath, env: deps.env, state: config, secrets, logger }),
    token: () => token,
    secrets,
    components: deps.components,
    skills: turns.skills,
    channelLogins: {
      save: (platform, accountId, values) => writeChannelCredentials(paths.credentialsDir, platform, accountId, values),
      remove: (platform, accountId) => removeChannelCredentials(paths.credentialsDir, platform, accountId),
    },
    status: () => statusReport(deps, gateway),
  };
}

/**
 * The HTTP and WebSocket server (OpenAI-compatible API, WS RPC, WebChat, /metrics, webhooks).
 * It listens once everything it serves has started, and closes first when the gateway stops.
 */
export const gatewaySubsystem = defineSubsystem({
  name: 'gateway',
  async start(deps: GatewayServerDeps) {
    const { config, logger, version } = deps;
    const port = deps.port ?? config.current().gateway.port;
    const host = hostFor(deps.bind ?? config.current().gateway.bind);
    let address = { port, host };
    const loopLag = createLoopLagMeter();
    const server = createGatewayServer(
      gatewayContext(deps, () => ({ port: address.port, host: address.host, connections: server.connectionCount(), requests: server.requestStats(), eventLoop: loopLag.read() })),
    );
    address = await server.listen({ port, host, fd: deps.listenFd }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      throw new Error(`Port ${port} on ${host} is already in use (another gateway?). Stop it, or start with --port <n> or gateway.port.`);
    });
    const url = `http://${address.host === '0.0.0.0' ? '127.0.0.1' : address.host}:${address.port}`;
    logger.info({ url, version, ...(deps.listenFd === undefined ? {} : { inheritedSocket: true }) }, 'gateway listening');
    // Where the CLI finds this gateway, whatever port it was started on (state/gateway.json).
    writeGatewayAddress(deps.paths.stateDir, { pid: process.pid, host: address.host, port: address.port, url, startedAt: deps.startedAt });
    const unsubscribeConfig = config.onReload((next, previous) => {
      if (previous.gateway.port !== next.gateway.port || previous.gateway.bind !== next.gateway.bind) {
        logger.warn({}, 'gateway.port and gateway.bind take effect at the next start');
      }
    });
    return {
      api: { port: address.port, host: address.host, url } satisfies GatewayAddress,
      health: () => ({ status: 'ok' as const }),
      async drain() {
        unsubscribeConfig();
        // Drained before the turns (started after them): new connections stop reaching this
        // process, and a request it took just before gets a moment to hand its turn over while
        // the turns still accept, instead of a 503 (under hearth service, mid-switch).
        server.stopListening();
        await new Promise((resolve) => setTimeout(resolve, ACCEPTED_REQUEST_GRACE_MS));
      },
      stop: async () => {
        loopLag.stop();
        await server.close();
        removeGatewayAddress(deps.paths.stateDir, process.pid);
      },
    };
  },
});

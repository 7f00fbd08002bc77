import { alertsSubsystem } from './automation/alerts-subsystem.js';
import { approvalsSubsystem } from './approvals/approvals-subsystem.js';
import { cronSubsystem } from './automation/cron-subsystem.js';
import { channelsSubsystem } from './channels/channels-subsystem.js';
import { configSubsystem } from './config/config-subsystem.js';
import type { HearthPaths } from './config/paths.js';
import { type GatewayAddress, gatewaySubsystem } from './gateway/gateway-subsystem.js';
import { metricsSubsystem } from './observability/metrics-subsystem.js';
import { modelsSubsystem } from './providers/models-subsystem.js';
import { type Env, type GatewayBase, prepareGateway } from './runtime/gateway-base.js';
import { createSubsystemHost, type SubsystemHost } from './runtime/subsystem.js';
import { unhandledRejectionsSubsystem } from './runtime/unhandled-rejections.js';
import { turnsSubsystem } from './sessions/turns-subsystem.js';
import { memorySubsystem } from './memory/memory-subsystem.js';
import { mcpSubsystem } from './mcp/mcp-subsystem.js';
import { pluginsSubsystem } from './plugins/plugins-subsystem.js';
import { maintenanceSubsystem } from './store/maintenance-subsystem.js';
import { retentionSubsystem } from './retention/retention-subsystem.js';
import { backupsSubsystem } from './backups/backups-subsystem.js';
import { storeSubsystem } from './store/store-subsystem.js';
import { tracingSubsystem } from './tracing/tracing-subsystem.js';
import { clusterSubsystem } from './cluster/cluster-subsystem.js';
import { createTaskTools, tasksSubsystem } from './tasks/tasks-subsystem.js';

export { resolveGatewayToken } from './gateway/gateway-token.js';
export { ConfigRefused, type Env, readVersion } from './runtime/gateway-base.js';

export interface GatewayOptions {
  env: Env;
  port?: number;
  bind?: string;
  /** A listening socket's descriptor inherited from `hearth service` (wins over port and bind). */
  listenFd?: number;
  /** Where readable log lines go; null for none (tests). Defaults to stderr. */
  terminal?: NodeJS.WritableStream | null;
}

export interface RunningGateway {
  port: number;
  host: string;
  url: string;
  token: string;
  paths: HearthPaths;
  /** Drains running turns (bounded by gateway.drainTimeoutMs) and releases everything. */
  stop(): Promise<void>;
}

/**
 * The composition root: the gateway is this list of subsystems, each started with the
 * dependencies it names, in order; `stop()` drains them and then stops them, newest first.
 * A new subsystem is a folder with a `…-subsystem.ts` and one line here (docs/architecture.md).
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const enteredMs = performance.now();
  const base = prepareGateway(options);
  const preparedMs = performance.now();
  const system = createSubsystemHost(base.logger);
  const { logger } = base;
  try {
    const store = await system.start(storeSubsystem, base);
    const cluster = await system.start(clusterSubsystem, { ...base, store, ...(options.port !== undefined ? { port: options.port } : {}) });
    const models = await system.start(modelsSubsystem, base);
    const metrics = await system.start(metricsSubsystem, { store, models });
    const alerts = await system.start(alertsSubsystem, { ...base, store });
    await system.start(unhandledRejectionsSubsystem, base);
    const tracer = await system.start(tracingSubsystem, base);
    const memory = await system.start(memorySubsystem, { ...base, models, metrics, store });
    const approvals = await system.start(approvalsSubsystem, { ...base, store });
    const mcp = await system.start(mcpSubsystem, base);
    const plugins = await system.start(pluginsSubsystem, base);
    const turns = await system.start(turnsSubsystem, { ...base, store, models, alerts, metrics, approvals, plugins, extraTools: [...memory.tools, ...createTaskTools({ ...base, store })], toolSources: [mcp.tools, plugins.tools], cluster, tracer });
    const channels = await system.start(channelsSubsystem, { ...base, store, models, turns, alerts, metrics, approvals, plugins, cluster, tracer });
    const cron = await system.start(cronSubsystem, { ...base, store, models, turns, alerts, metrics, cluster });
    await system.start(tasksSubsystem, { ...base, store, models, turns });
    const retention = await system.start(retentionSubsystem, { ...base, store });
    const backups = await system.start(backupsSubsystem, { ...base, alerts });
    const gateway = await system.start(gatewaySubsystem, {
      ...{ ...base, store, models, metrics, alerts, turns, channels, cron, memory, approvals, mcp, plugins, retention, backups },
      ...{ components: system.health, port: options.port, bind: options.bind, listenFd: options.listenFd },
    });
    if (cluster.enabled) {
      cluster.setUrl(gateway.url);
      metrics.attach({ cluster: cluster.figures });
    }
    await system.start(configSubsystem, base);
    await system.start(maintenanceSubsystem, { ...base, store });
    const sinceProcessStart = { loaded: Math.round(enteredMs), prepared: Math.round(preparedMs), started: Math.round(performance.now()) };
    logger.info({ startupMs: sinceProcessStart, subsystemsMs: system.startTimes() }, 'gateway started');
    return runningGateway(base, system, gateway);
  } catch (error) {
    base.flushLog();
    throw error;
  }
}

/** The handle the CLI and tests hold: where the gateway listens, and its stop. */
function runningGateway(base: GatewayBase, system: SubsystemHost, gateway: GatewayAddress): RunningGateway {
  let stopping: Promise<void> | undefined;
  return {
    ...gateway,
    token: base.token,
    paths: base.paths,
    stop() {
      stopping ??= (async () => {
        base.logger.info({}, 'gateway stopping: draining running turns');
        await system.stop();
        base.logger.info({}, 'gateway stopped');
        base.flushLog();
      })();
      return stopping;
    },
  };
}

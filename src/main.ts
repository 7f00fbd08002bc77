import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AgentDirectory, createAgentDirectory } from './agent/agent-directory.js';
import { createAgentLoop } from './agent/agent-loop.js';
import { createAlertSink } from './automation/alerts.js';
import { createBudgets } from './automation/budgets.js';
import { createCronRunner } from './automation/cron-runner.js';
import { createCronScheduler } from './automation/cron-scheduler.js';
import { createHeartbeats } from './automation/heartbeat.js';
import { createWorkspaceContext } from './agent/workspace-context.js';
import { readChannelCredentials } from './channels/channel-credentials.js';
import { createChannelHealth } from './channels/channel-health.js';
import { createChannelManager } from './channels/channel-manager.js';
import { builtinPlatforms } from './channels/platforms.js';
import { createConfigWatcher } from './config/config-watcher.js';
import { type ConfigIssue, formatConfigIssues, loadConfigFile } from './config/load-config.js';
import { ensureHearthDirs, type HearthPaths, resolveHearthPaths } from './config/paths.js';
import type { HearthConfig } from './config/schema.js';
import type { ModelRouter, RoutedModelEvent } from './contracts/model-provider.js';
import type { ComponentHealth, GatewayContext } from './gateway/gateway-context.js';
import { createGatewayServer } from './gateway/gateway-server.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { systemClock } from './runtime/clock.js';
import { createIdleCompactor } from './runtime/idle-compactor.js';
import { createModelRouter } from './providers/model-router.js';
import { detectProviders } from './providers/detect-providers.js';
import { createSessionLanes } from './sessions/session-lanes.js';
import { createTurnService } from './sessions/turn-service.js';
import { createSqliteStore } from './store/sqlite/sqlite-store.js';
import { createBuiltinTools, createToolRegistry } from './tools/tool-registry.js';

export type Env = Record<string, string | undefined>;

/** Thrown when the gateway cannot start because of its config; the CLI exits with 78. */
export class ConfigRefused extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(formatConfigIssues(issues));
  }
}

export interface GatewayOptions {
  env: Env;
  port?: number;
  bind?: string;
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

export function readVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function hostFor(bind: string): string {
  if (bind === 'loopback') return '127.0.0.1';
  if (bind === 'lan') return '0.0.0.0';
  return bind;
}

/**
 * The gateway token: `HEARTH_GATEWAY_TOKEN`, else `gateway.auth.token`, else the one stored in
 * `credentials/gateway-token` (created on first start, mode 0600, written atomically).
 */
export function resolveGatewayToken(env: Env, config: HearthConfig, paths: HearthPaths, create: boolean): string | undefined {
  if (env.HEARTH_GATEWAY_TOKEN) return env.HEARTH_GATEWAY_TOKEN;
  if (config.gateway.auth.token) return config.gateway.auth.token;
  const file = join(paths.credentialsDir, 'gateway-token');
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return stored;
  } catch {
    // Not created yet.
  }
  if (!create) return undefined;
  const token = randomBytes(24).toString('base64url');
  mkdirSync(paths.credentialsDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return token;
}

function toRecord(value: Env): Record<string, string | undefined> {
  return { ...value };
}

/**
 * The composition root: builds every component from the config, wires them, starts them in
 * order and returns a handle that stops them in reverse order.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const env = toRecord(options.env);
  const paths = resolveHearthPaths(env);
  const loaded = loadConfigFile(paths.configPath, env);
  if (!loaded.ok) throw new ConfigRefused(loaded.issues);
  ensureHearthDirs(paths);

  let config: HearthConfig = loaded.config;
  let configHash = loaded.hash;
  let configSource = loaded.source;
  let lastReload: { at: number; ok: boolean; error?: string } | null = null;
  const startedAt = Date.now();
  const version = readVersion();
  const { logger, flush } = createLogger({
    level: env.HEARTH_LOG_LEVEL ?? config.logging.level,
    logsDir: paths.logsDir,
    ...(options.terminal === undefined ? {} : { terminal: options.terminal }),
  });
  const token = resolveGatewayToken(env, config, paths, true)!;

  const store = createSqliteStore({ path: join(paths.stateDir, 'hearth.sqlite') });
  const tools = createToolRegistry(createBuiltinTools());
  const workspaceContext = createWorkspaceContext();

  let detected: { providers: HearthConfig['models']['providers']; defaultModel?: string; source: string } = {
    providers: {},
    source: 'pending',
  };
  let modelsStatus: ComponentHealth = { status: 'starting', detail: 'looking for models' };
  let router: ModelRouter & { close(): void } = createModelRouter({ providers: config.models.providers, logger });
  let directory: AgentDirectory = createAgentDirectory(config, { workspacesDir: paths.workspacesDir, home: paths.home });

  const rebuildModels = () => {
    const useDetected = Object.keys(config.models.providers).length === 0;
    const providers = useDetected ? detected.providers : config.models.providers;
    router.close();
    router = createModelRouter({ providers, logger });
    directory = createAgentDirectory(config, {
      workspacesDir: paths.workspacesDir,
      home: paths.home,
      ...(useDetected && detected.defaultModel ? { detectedModel: detected.defaultModel } : {}),
    });
    for (const agent of directory.list()) mkdirSync(agent.workspaceDir, { recursive: true, mode: 0o700 });
    workspaceContext.clear();
    const withoutModel = directory.list().filter((agent) => agent.modelRefs.length === 0);
    modelsStatus =
      withoutModel.length === 0
        ? { status: 'ok', detail: directory.list().map((agent) => `${agent.id}: ${agent.modelRefs[0]}`).join(', ') }
        : {
            status: 'degraded',
            detail: `no model configured for ${withoutModel.map((agent) => agent.id).join(', ')}: add models.providers and agents.defaults.model to ${paths.configPath}, set OPENAI_API_KEY or ANTHROPIC_API_KEY, or start Ollama`,
          };
  };

  /** Forwards to the current router, which a config reload replaces. */
  const models: ModelRouter = {
    stream: (refs, request): AsyncIterable<RoutedModelEvent> => router.stream(refs, request),
    has: (ref) => router.has(ref),
    list: () => router.list(),
  };

  const lanes = createSessionLanes({ maxConcurrent: config.agents.defaults.maxConcurrent });
  // Operator alerts are persisted, then sent to a chat through the outbox and to a webhook.
  const alerts = createAlertSink({ store, clock: systemClock, logger, deliver: (entry) => channels.deliver(entry) });
  const budgets = createBudgets({
    store,
    now: Date.now,
    pricing: () => config.models.pricing,
    limitOf: (scope) => {
      if (scope.startsWith('agent:')) return directory.get(scope.slice('agent:'.length))?.budget;
      if (scope.startsWith('cron:')) return scheduler.get(scope.slice('cron:'.length))?.spec.budget;
      return undefined;
    },
    alerts,
    targets: () => config.alerts,
    logger,
  });
  const turns = createTurnService({
    store,
    lanes,
    runTurn: createAgentLoop({ models, tools }),
    workspaceContext,
    agents: () => directory,
    maxTurnAttempts: () => config.agents.defaults.maxTurnAttempts,
    logger,
    budgets,
    sideEffectTools: () => tools.sideEffectNames(),
  });
  const heartbeats = createHeartbeats({
    clock: systemClock,
    agents: () => directory.list(),
    turns,
    isBusy: (sessionKey) => lanes.isBusy(sessionKey),
    blockedReason: (agentId) => budgets.blocked([`agent:${agentId}`]),
    logger,
  });
  const cronRunner = createCronRunner({ turns });
  const scheduler = createCronScheduler({
    store,
    clock: systemClock,
    logger,
    escalation: () => {
      const policy = config.cron.escalation;
      return {
        ...policy,
        alertChannel: policy.alertChannel ?? config.alerts.channel,
        alertWebhook: policy.alertWebhook ?? config.alerts.webhook,
      };
    },
    alerts,
    execute: cronRunner.execute,
    resume: cronRunner.resume,
    blockedReason: (job) => budgets.blocked([`agent:${job.spec.agentId}`, `cron:${job.id}`]),
    onEscalation: (action) => metrics.cronEscalation(action),
    retryBaseMs: config.cron.retryBaseMs,
    maxCatchUpRuns: config.cron.maxCatchUpRuns,
  });

  const metrics = createMetrics({
    outboxCounts: () => store.outboxCounts(),
    channels: () => channels.status(),
    channelHealth: () => channelHealth.list(),
    cronJobs: () => scheduler.list(),
  });
  const unsubscribeMetrics = turns.subscribe(metrics.onTurnEvent);
  const compactor = createIdleCompactor();
  const unsubscribeCompactor = turns.subscribe((event) => {
    if (event.type === 'final') compactor.noteTurn();
  });
  const channels = createChannelManager({ store, turns, platforms: builtinPlatforms(), logger, onDeliveryFailure: metrics.deliveryFailed });
  const channelHealth = createChannelHealth({
    accounts: () => channels.healthTargets(),
    config: () => config.channelHealth,
    // Operator alerts: once per episode, to the alert chat and webhook, logged and listed in status.
    onAlert: (event) => {
      const name = `${event.channel}:${event.account}`;
      const text =
        event.event === 'channel.health'
          ? `Channel ${name} is ${event.dimension} ${event.status} since ${new Date(event.degradedSince).toISOString()} and ${event.recoveryAttempts} reconnect(s) did not help: ${event.suggestedAction ?? event.detail ?? 'see hearth channels health'}`
          : `Channel ${name} is healthy again (unhealthy since ${new Date(event.degradedSince).toISOString()}).`;
      void alerts.raise({
        dedupeKey: `${event.event}:${name}:${event.degradedSince}`,
        event: event.event,
        payload: { ...event },
        text,
        channel: config.alerts.channel,
        webhook: config.alerts.webhook,
      }).catch((error) => logger.error({ err: error, alert: event }, 'could not record a channel health alert'));
    },
    logger,
  });
  const channelRouting = () => ({
    channels: config.channels,
    credentials: readChannelCredentials(paths.credentialsDir),
    bindings: config.bindings,
    dmScope: config.session.dmScope,
    defaultAgentId: directory.defaultAgentId,
    agentIds: directory.list().map((agent) => agent.id),
  });

  const cronHealth = (): ComponentHealth => {
    const health = scheduler.health();
    if (health.total === 0) return { status: 'ok', detail: 'no cron jobs' };
    if (health.problems.length === 0) return { status: 'ok', detail: `${health.total} jobs healthy` };
    return { status: 'degraded', detail: health.problems.map((problem) => `${problem.name} (${problem.id}): ${problem.reason}`).join('; ') };
  };

  let serverReady = false;
  const context: GatewayContext = {
    version,
    startedAt,
    logger,
    store,
    turns,
    channels,
    channelHealth,
    metrics,
    cron: scheduler,
    alerts,
    budgets,
    reloadChannels: () => channels.apply(channelRouting()),
    agents: () => directory,
    config: () => config,
    token: () => token,
    secrets: () => {
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
      collect(readChannelCredentials(paths.credentialsDir), 'token');
      return found.filter((value) => value.length >= 6);
    },
    components: () => ({
      store: { status: 'ok', detail: store.kind },
      gateway: serverReady ? { status: 'ok' } : { status: 'starting' },
      models: modelsStatus,
      config: lastReload && !lastReload.ok ? { status: 'degraded', detail: `last edit rejected: ${lastReload.error}` } : { status: 'ok' },
      channels: channelHealth.readiness(),
      cron: cronHealth(),
    }),
    status: async () => ({
      version,
      pid: process.pid,
      uptimeMs: Date.now() - startedAt,
      home: paths.home,
      config: {
        path: paths.configPath,
        source: configSource,
        hash: configHash,
        lastReload,
      },
      gateway: { port: address.port, host: address.host, connections: server.connectionCount() },
      models: { source: Object.keys(config.models.providers).length > 0 ? 'config' : detected.source, ...modelsStatus },
      agents: directory.list().map((agent) => ({
        id: agent.id,
        default: agent.id === directory.defaultAgentId,
        models: agent.modelRefs,
        workspace: agent.workspaceDir,
      })),
      turns: { ...lanes.stats(), active: turns.activeRuns() },
      channels: await channels.status(),
      cron: scheduler.health(),
      heartbeats: heartbeats.status(),
      spend: await budgets.today(directory.list().map((agent) => `agent:${agent.id}`)),
      alerts: (await alerts.list(5)).map((alert) => ({ event: alert.event, status: alert.status, createdAt: alert.createdAt, lastError: alert.lastError, payload: alert.payload })),
      store: store.kind,
    }),
  };

  const server = createGatewayServer(context);
  const host = hostFor(options.bind ?? config.gateway.bind);
  const address = await server.listen({ port: options.port ?? config.gateway.port, host }).catch(async (error: NodeJS.ErrnoException) => {
    await store.close();
    if (error.code === 'EADDRINUSE') {
      throw new Error(
        `Port ${options.port ?? config.gateway.port} on ${host} is already in use (another gateway?). Stop it, or start with --port <n> or gateway.port.`,
      );
    }
    throw error;
  });
  serverReady = true;
  rebuildModels();

  const watcher = createConfigWatcher({
    path: paths.configPath,
    env,
    logger,
    onChange: (result) => {
      if (!result.ok) {
        const message = formatConfigIssues(result.issues);
        lastReload = { at: Date.now(), ok: false, error: message.split('\n')[0] ?? message };
        logger.error({ path: paths.configPath }, `config edit rejected; the last good config stays in force:\n${message}`);
        return;
      }
      const previous = config;
      config = result.config;
      configHash = result.hash;
      configSource = result.source;
      lastReload = { at: Date.now(), ok: true };
      lanes.setMaxConcurrent(config.agents.defaults.maxConcurrent);
      rebuildModels();
      heartbeats.apply();
      void channels
        .apply(channelRouting())
        .then((changed) => {
          if (changed.started.length + changed.restarted.length + changed.stopped.length > 0) logger.info(changed, 'channel accounts updated');
        })
        .catch((error) => logger.error({ err: error }, 'applying the channel config failed'));
      if (previous.gateway.port !== config.gateway.port || previous.gateway.bind !== config.gateway.bind) {
        logger.warn({}, 'gateway.port and gateway.bind take effect at the next start');
      }
      logger.info({ hash: configHash.slice(0, 12) }, 'config reloaded');
    },
  });
  watcher.start();

  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  logger.info({ url, version }, 'gateway listening');

  // Finds models without a config (environment keys, a local Ollama) without delaying readiness.
  const detection = Object.keys(config.models.providers).length > 0
    ? Promise.resolve()
    : detectProviders(env).then((found) => {
        detected = found;
        rebuildModels();
        if (found.source === 'none') logger.warn({}, `no model found: ${modelsStatus.detail}`);
        else logger.info({ source: found.source, model: found.defaultModel }, 'using a detected model');
      });
  await detection.catch((error) => logger.warn({ err: error }, 'model detection failed'));

  // A client library that rejects a promise nobody awaits (seen with hostile platform payloads)
  // must not take every channel down: log it loudly and keep serving.
  const onUnhandledRejection = (reason: unknown) => {
    logger.error({ err: reason }, 'a promise was rejected and nothing handled it; the gateway keeps running');
  };
  process.on('unhandledRejection', onUnhandledRejection);

  await turns.recover();
  await channels.apply(channelRouting());
  await channels.startDelivery();
  await scheduler.start();
  heartbeats.apply();
  alerts.start();
  channelHealth.start();
  const pruneTimer = setInterval(() => {
    store.pruneIdempotencyKeys(Date.now() - 24 * 3600_000).catch((error) => logger.warn({ err: error }, 'idempotency key pruning failed'));
    store.pruneCronRuns(Date.now() - config.cron.historyDays * 86_400_000).catch((error) => logger.warn({ err: error }, 'cron ledger pruning failed'));
  }, 3600_000);
  pruneTimer.unref();

  let stopping: Promise<void> | undefined;
  return {
    port: address.port,
    host,
    url,
    token,
    paths,
    stop() {
      stopping ??= (async () => {
        logger.info({}, 'gateway stopping: draining running turns');
        clearInterval(pruneTimer);
        watcher.stop();
        scheduler.stop();
        heartbeats.stop();
        const { checkpointed } = await turns.drain(config.gateway.drainTimeoutMs);
        if (checkpointed > 0) logger.warn({ checkpointed }, 'turns still running were checkpointed and will run again at the next start');
        channelHealth.stop();
        await alerts.stop();
        await channels.stop();
        unsubscribeMetrics();
        unsubscribeCompactor();
        compactor.stop();
        process.off('unhandledRejection', onUnhandledRejection);
        await server.close();
        router.close();
        workspaceContext.clear();
        await store.close();
        logger.info({}, 'gateway stopped');
        flush();
      })();
      return stopping;
    },
  };
}

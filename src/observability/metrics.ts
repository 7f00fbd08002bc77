import type * as PromClient from 'prom-client';
import type { CronJob } from '../contracts/automation.js';
import type { ChannelAccountStatus, ChannelHealthReport } from '../contracts/channel.js';
import type { ProviderHealth } from '../providers/circuit-breaker.js';
import { agentIdOfSessionKey } from '../routing/session-keys.js';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import type { HistoryCacheStats, TurnEvent } from '../sessions/turn-service.js';

/** Label sets are bounded: past this many, new combinations are counted under "other". */
const MAX_SERIES = 500;
const TURN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface MetricsSources {
  outboxCounts(): Promise<{ channel: string; pending: number; failed: number }[]>;
  channels(): Promise<ChannelAccountStatus[]>;
  cronJobs(): CronJob[];
  /** The health reconciler's view, for the functional dimension. */
  channelHealth?(): ChannelHealthReport[];
  /** Each model provider's circuit breaker and last success/failure. */
  providers?(): ProviderHealth[];
  /** Each agent's memory index whose memory is open. */
  memory?(): MemoryHealth[];
  /** The history kept in memory between turns (session.historyCacheMb). */
  historyCache?(): HistoryCacheStats | undefined;
  /** Cluster mode: nodes alive, the event bus, and the leases this node holds by kind. */
  cluster?(): { nodesAlive: number; busConnected: boolean; held: Record<string, number> } | undefined;
}

const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;

/** What /metrics reads of one agent's memory. */
export interface MemoryHealth {
  agentId: string;
  files: number;
  chunks: number;
  pending: number;
  embeddingFailures: number;
  lastIndexLagMs: number | null;
  /** How long the oldest change not yet indexed has waited (0: none waiting). */
  waitingSinceMs: number;
  searchSeconds: number[];
}
/** The oldest change still waiting wins over the last measured lag, so a stuck index shows a growing lag. */
function indexLagSeconds(agent: MemoryHealth): number | null {
  if (agent.waitingSinceMs > 0) return Math.max(agent.waitingSinceMs, agent.lastIndexLagMs ?? 0) / 1000;
  return agent.lastIndexLagMs === null ? null : agent.lastIndexLagMs / 1000;
}

const EVENT_LOOP_SUMMARY = /^hearth_nodejs_eventloop_lag_(?:min|max|mean|stddev|p50|p90|p99)_seconds(?:\{[^}]*\})? /u;

/**
 * Drops the samples prom-client prints before it has measured anything: the event-loop delay
 * histogram is empty until the first scrape has waited a while (mean NaN, min 2^63 ns, the rest 0),
 * and the lag gauge reads exactly 0 until its first measurement. Real values are kept.
 */
export function withoutPlaceholderSamples(text: string): string {
  const lines = text.split('\n');
  const empty = lines.some((line) => /^hearth_nodejs_eventloop_lag_mean_seconds(?:\{[^}]*\})? NaN$/iu.test(line));
  return lines
    .filter((line) => {
      if (line.startsWith('#')) return true;
      if (empty && EVENT_LOOP_SUMMARY.test(line)) return false;
      if (/^hearth_nodejs_eventloop_lag_seconds(?:\{[^}]*\})? 0$/u.test(line)) return false;
      return !/ NaN$/iu.test(line);
    })
    .join('\n');
}

/**
 * Prometheus metrics for `/metrics`. Counting is plain arithmetic on bounded maps, so it costs the
 * gateway nothing until someone scrapes; prom-client (about 50 ms to load) is loaded on the first
 * scrape and reads these maps, the outbox and the channel accounts each time.
 */
export function createMetrics(sources: MetricsSources) {
  const turns = new Map<string, number>();
  const tokens = new Map<string, number>();
  const tools = new Map<string, number>();
  const approvals = new Map<string, number>();
  const capabilityDenials = new Map<string, number>();
  const durations = new Map<string, TurnDurations>();
  const startedAt = new Map<string, { at: number; agent: string }>();
  const deliveryFailures = new Map<string, number>();
  const costs = new Map<string, number>();
  const escalations = new Map<string, number>();
  let registry: Promise<PromClient.Registry> | null = null;

  const bump = (map: Map<string, number>, key: string, by = 1) => {
    const target = map.has(key) || map.size < MAX_SERIES ? key : 'other';
    map.set(target, (map.get(target) ?? 0) + by);
  };

  function onTurnEvent(event: TurnEvent): void {
    const agent = agentIdOfSessionKey(event.sessionKey) ?? 'none';
    if (event.type === 'started') {
      // One entry per running turn; removed when it ends.
      startedAt.set(event.runId, { at: performance.now(), agent });
      return;
    }
    if (event.type !== 'final') return;
    const { outcome } = event;
    bump(turns, JSON.stringify([agent, outcome.status]));
    const started = startedAt.get(event.runId);
    startedAt.delete(event.runId);
    if (started) {
      const seconds = (performance.now() - started.at) / 1000;
      const key = durations.has(agent) || durations.size < MAX_SERIES ? agent : 'other';
      const entry = durations.get(key) ?? { counts: TURN_BUCKETS.map(() => 0), sum: 0, count: 0 };
      TURN_BUCKETS.forEach((bound, index) => {
        if (seconds <= bound) entry.counts[index] = (entry.counts[index] ?? 0) + 1;
      });
      entry.sum += seconds;
      entry.count += 1;
      durations.set(key, entry);
    }
    if (outcome.usage && outcome.modelRef) {
      const slash = outcome.modelRef.indexOf('/');
      const provider = slash < 0 ? 'unknown' : outcome.modelRef.slice(0, slash);
      const model = slash < 0 ? outcome.modelRef : outcome.modelRef.slice(slash + 1);
      bump(tokens, JSON.stringify([agent, provider, model, 'input']), outcome.usage.inputTokens);
      bump(tokens, JSON.stringify([agent, provider, model, 'output']), outcome.usage.outputTokens);
      if (outcome.costUsd !== null) bump(costs, JSON.stringify([agent, provider, model]), outcome.costUsd);
    }
    for (const call of outcome.toolCalls) {
      bump(tools, JSON.stringify([call.name, call.outcome ?? (call.error ? 'error' : 'ok')]));
      if (call.approval) bump(approvals, JSON.stringify([call.name, call.approval.decision]));
      if (call.capabilityDenied) bump(capabilityDenials, JSON.stringify([call.capabilityDenied.skill, call.name]));
    }
  }

  async function build(): Promise<PromClient.Registry> {
    const client = loadCommonJs('prom-client') as typeof PromClient;
    const register = new client.Registry();
    const prom = { client, register };
    // /metrics lists the metrics in the order they are added here, the process's own first.
    client.collectDefaultMetrics({ register, prefix: 'hearth_' });
    addTurnCounters(prom, { turns, tokens, costs });
    addCronGauges(prom, sources, escalations);
    addToolCounters(prom, { tools, capabilityDenials, approvals });
    addDeliveryFailures(prom, deliveryFailures);
    addTurnDurations(prom, durations);
    addProviderGauges(prom, sources);
    addMemoryGauges(prom, sources);
    addHistoryCacheGauges(prom, sources);
    addClusterGauges(prom, sources);
    addChannelGauges(prom, sources);
    return register;
  }

  return {
    onTurnEvent,
    /** Counts a failed delivery attempt of a channel account (`<platform>:<accountId>`). */
    deliveryFailed(channel: string): void {
      bump(deliveryFailures, channel);
    },
    /** Counts a cron escalation (an alert, or a job disabled). */
    cronEscalation(action: 'alert' | 'disabled'): void {
      bump(escalations, action);
    },
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    /** The Prometheus text exposition of every metric. */
    async render(): Promise<string> {
      registry ??= build();
      return withoutPlaceholderSamples(await (await registry).metrics());
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** prom-client, and the registry a scrape reads. */
interface Prom {
  client: typeof PromClient;
  register: PromClient.Registry;
}

/** One agent's turn latency histogram: a count per bucket of TURN_BUCKETS, the total time and the number of turns. */
interface TurnDurations {
  counts: number[];
  sum: number;
  count: number;
}

/** The counting maps createMetrics keeps between scrapes; their keys are JSON label lists (or "other"). */
interface CountingMaps {
  turns: Map<string, number>;
  tokens: Map<string, number>;
  costs: Map<string, number>;
  tools: Map<string, number>;
  capabilityDenials: Map<string, number>;
  approvals: Map<string, number>;
}

/** A gauge read from a counting map whose keys are JSON label lists (or "other", every label "other"). */
function countingGauge({ client, register }: Prom, name: string, help: string, labelNames: string[], map: Map<string, number>): void {
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [register],
    collect() {
      for (const [key, value] of map) {
        const values = key === 'other' ? labelNames.map(() => 'other') : (JSON.parse(key) as string[]);
        this.labels(...values).set(value);
      }
    },
  });
}

/** Turns finished, and the tokens and money they used. */
function addTurnCounters(prom: Prom, counts: Pick<CountingMaps, 'turns' | 'tokens' | 'costs'>): void {
  countingGauge(prom, 'hearth_turns_total', 'Turns finished, by agent and outcome (ok, error, aborted).', ['agent', 'status'], counts.turns);
  countingGauge(prom, 'hearth_tokens_total', 'Model tokens used, by agent, provider, model and direction (input, output).', ['agent', 'provider', 'model', 'direction'], counts.tokens);
  countingGauge(prom, 'hearth_cost_usd_total', 'What model calls cost in US dollars (from models.pricing), by agent, provider and model.', ['agent', 'provider', 'model'], counts.costs);
}

/** Each cron job's errors in a row and last success, and the escalations. */
function addCronGauges({ client, register }: Prom, sources: MetricsSources, escalations: Map<string, number>): void {
  new client.Gauge({
    name: 'hearth_cron_job_consecutive_errors',
    help: 'Errors in a row of each cron job (0 after a success).',
    labelNames: ['job', 'name'],
    registers: [register],
    collect() {
      this.reset();
      for (const job of sources.cronJobs().slice(0, MAX_SERIES)) this.labels(job.id, job.spec.name).set(job.state.consecutiveErrors);
    },
  });
  new client.Gauge({
    name: 'hearth_cron_job_last_success_timestamp',
    help: 'When each cron job last succeeded, in Unix seconds (0 when it never has).',
    labelNames: ['job', 'name'],
    registers: [register],
    collect() {
      this.reset();
      for (const job of sources.cronJobs().slice(0, MAX_SERIES)) this.labels(job.id, job.spec.name).set((job.state.lastSuccessAt ?? 0) / 1000);
    },
  });
  new client.Gauge({
    name: 'hearth_cron_escalations_total',
    help: 'Cron escalations, by action (alert, disabled).',
    labelNames: ['action'],
    registers: [register],
    collect() {
      for (const action of ['alert', 'disabled']) this.labels(action).set(escalations.get(action) ?? 0);
    },
  });
}

/** Tool calls: their outcomes, capability denials and the operator's approvals. */
function addToolCounters(prom: Prom, counts: Pick<CountingMaps, 'tools' | 'capabilityDenials' | 'approvals'>): void {
  countingGauge(prom, 'hearth_tool_calls_total', 'Tool calls, by tool and outcome: ok, error, refused (by a policy rule), timeout, denied (by the operator, or unanswered).', ['tool', 'outcome'], counts.tools);
  countingGauge(prom, 'hearth_capability_denied_total', 'Tool calls refused because the active skill did not declare the capability they need, by skill and tool.', ['skill', 'tool'], counts.capabilityDenials);
  countingGauge(prom, 'hearth_tool_approvals_total', 'Tool calls that waited for the operator (tools.exec.ask), by tool and decision: approved, denied, expired.', ['tool', 'decision'], counts.approvals);
}

/** Failed delivery attempts per channel account. */
function addDeliveryFailures({ client, register }: Prom, deliveryFailures: Map<string, number>): void {
  new client.Gauge({
    name: 'hearth_delivery_failures_total',
    help: 'Failed attempts to deliver a message through a channel account.',
    labelNames: ['channel'],
    registers: [register],
    collect() {
      for (const [channel, value] of deliveryFailures) this.labels(channel).set(value);
    },
  });
}

/** The turn latency histogram per agent: its buckets, sum and count. */
function addTurnDurations({ client, register }: Prom, durations: Map<string, TurnDurations>): void {
  new client.Gauge({
    name: 'hearth_turn_duration_seconds_bucket',
    help: 'Turn latency histogram (cumulative buckets), by agent.',
    labelNames: ['agent', 'le'],
    registers: [register],
    collect() {
      for (const [agent, entry] of durations) {
        TURN_BUCKETS.forEach((bound, index) => {
          this.labels(agent, String(bound)).set(entry.counts[index] ?? 0);
        });
        this.labels(agent, '+Inf').set(entry.count);
      }
    },
  });
  new client.Gauge({
    name: 'hearth_turn_duration_seconds_sum',
    help: 'Total turn time, by agent.',
    labelNames: ['agent'],
    registers: [register],
    collect() {
      for (const [agent, entry] of durations) this.labels(agent).set(entry.sum);
    },
  });
  new client.Gauge({
    name: 'hearth_turn_duration_seconds_count',
    help: 'Timed turns, by agent.',
    labelNames: ['agent'],
    registers: [register],
    collect() {
      for (const [agent, entry] of durations) this.labels(agent).set(entry.count);
    },
  });
}

/** Each model provider's circuit breaker, failures in a row, and last answer and failure. */
function addProviderGauges({ client, register }: Prom, sources: MetricsSources): void {
  new client.Gauge({
    name: 'hearth_provider_breaker_state',
    help: 'Circuit breaker of each model provider: 1 for its current state (closed: calls go through; open: skipped after timeouts or connection failures in a row; half-open: the next call probes it).',
    labelNames: ['provider', 'state'],
    registers: [register],
    collect() {
      this.reset();
      for (const health of sources.providers?.() ?? []) for (const state of BREAKER_STATES) this.labels(health.provider, state).set(health.state === state ? 1 : 0);
    },
  });
  const providerGauge = (name: string, help: string, value: (health: ProviderHealth) => number | null) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['provider'],
      registers: [register],
      collect() {
        this.reset();
        for (const health of sources.providers?.() ?? []) {
          const measured = value(health);
          if (measured !== null) this.labels(health.provider).set(measured);
        }
      },
    });
  providerGauge('hearth_provider_consecutive_failures', 'Timeouts and connection failures in a row of each model provider (0 after an answer).', (health) => health.consecutiveFailures);
  providerGauge('hearth_provider_breaker_opened_total', 'Times the circuit breaker of each model provider opened since the gateway started.', (health) => health.opened);
  providerGauge('hearth_provider_last_success_timestamp', 'When each model provider last answered, in Unix seconds (absent until it has).', (health) =>
    health.lastSuccessAt === null ? null : health.lastSuccessAt / 1000,
  );
  providerGauge('hearth_provider_last_failure_timestamp', 'When a call to each model provider last failed, in Unix seconds (absent until one has).', (health) =>
    health.lastFailureAt === null ? null : health.lastFailureAt / 1000,
  );
}

/** Each agent's memory index: size, embeddings waiting or failed, index lag and search time. */
function addMemoryGauges({ client, register }: Prom, sources: MetricsSources): void {
  const memoryGauge = (name: string, help: string, value: (agent: MemoryHealth) => number | null) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['agent'],
      registers: [register],
      collect() {
        this.reset();
        for (const agent of sources.memory?.() ?? []) {
          const measured = value(agent);
          if (measured !== null) this.labels(agent.agentId).set(measured);
        }
      },
    });
  memoryGauge('hearth_memory_chunks', 'Chunks in each agent\'s memory index (agents whose memory has been used since the start).', (agent) => agent.chunks);
  memoryGauge('hearth_memory_files', 'Files in each agent\'s memory index.', (agent) => agent.files);
  memoryGauge('hearth_memory_pending_embeddings', 'Chunks waiting for their vector (searched by keyword until then).', (agent) => agent.pending);
  memoryGauge('hearth_memory_embedding_failures_total', 'Embedding batches that failed since the start.', (agent) => agent.embeddingFailures);
  memoryGauge('hearth_memory_index_lag_seconds', 'How far the memory index is behind the files: the age of the oldest change not yet indexed, else how long the last change took to be indexed (and embedded).', indexLagSeconds);
  new client.Gauge({
    name: 'hearth_memory_search_seconds',
    help: 'Memory search time over the last 200 searches of each agent, by quantile (0.5, 0.99).',
    labelNames: ['agent', 'quantile'],
    registers: [register],
    collect() {
      this.reset();
      for (const agent of sources.memory?.() ?? []) {
        if (agent.searchSeconds.length === 0) continue;
        const sorted = [...agent.searchSeconds].sort((a, b) => a - b);
        for (const quantile of [0.5, 0.99]) this.labels(agent.agentId, String(quantile)).set(sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!);
      }
    },
  });
}

/** The session history kept in memory between turns, and where turns read their history from. */
function addHistoryCacheGauges({ client, register }: Prom, sources: MetricsSources): void {
  new client.Gauge({
    name: 'hearth_history_cache_bytes',
    help: 'Estimated bytes of session history kept in memory between turns, and its bound (session.historyCacheMb).',
    labelNames: ['kind'],
    registers: [register],
    collect() {
      this.reset();
      const stats = sources.historyCache?.();
      if (!stats) return;
      this.labels('used').set(stats.bytes);
      this.labels('max').set(stats.maxBytes);
    },
  });
  new client.Gauge({
    name: 'hearth_history_cache_sessions',
    help: 'Sessions whose history is kept in memory between turns.',
    registers: [register],
    collect() {
      this.reset();
      const stats = sources.historyCache?.();
      if (stats) this.set(stats.sessions);
    },
  });
  new client.Gauge({
    name: 'hearth_history_reads_total',
    help: 'Where turns took their history from: memory (kept since the session\'s last turn) or store (a read of the transcript). Many store reads with a full cache mean session.historyCacheMb is small for the number of busy sessions.',
    labelNames: ['source'],
    registers: [register],
    collect() {
      this.reset();
      const stats = sources.historyCache?.();
      if (!stats) return;
      this.labels('memory').set(stats.reads.memory);
      this.labels('store').set(stats.reads.store);
    },
  });
}

/** Cluster mode: nodes alive, leases held and the event bus. */
function addClusterGauges({ client, register }: Prom, sources: MetricsSources): void {
  new client.Gauge({
    name: 'hearth_cluster_nodes',
    help: 'Cluster mode: nodes whose heartbeat is recent (within two lease periods), as this node sees them.',
    registers: [register],
    collect() {
      this.reset();
      const figures = sources.cluster?.();
      if (figures) this.set(figures.nodesAlive);
    },
  });
  new client.Gauge({
    name: 'hearth_cluster_leases_held',
    help: 'Cluster mode: leases this node holds, by kind (session: a session\'s turns; channel: a channel account; cron: the cron schedule).',
    labelNames: ['kind'],
    registers: [register],
    collect() {
      this.reset();
      for (const [kind, count] of Object.entries(sources.cluster?.()?.held ?? {})) this.labels(kind).set(count);
    },
  });
  new client.Gauge({
    name: 'hearth_cluster_event_bus_connected',
    help: 'Cluster mode: 1 while this node listens to its peers\' events (PostgreSQL LISTEN), 0 while it reconnects.',
    registers: [register],
    collect() {
      this.reset();
      const figures = sources.cluster?.();
      if (figures) this.set(figures.busConnected ? 1 : 0);
    },
  });
}

/** The outbox backlog and each channel account's health. */
function addChannelGauges({ client, register }: Prom, sources: MetricsSources): void {
  new client.Gauge({
    name: 'hearth_outbox_backlog',
    help: 'Messages waiting in the outbox (state pending) or given up (state failed), by channel account.',
    labelNames: ['channel', 'state'],
    registers: [register],
    async collect() {
      this.reset();
      for (const row of await sources.outboxCounts()) {
        this.labels(row.channel, 'pending').set(row.pending);
        this.labels(row.channel, 'failed').set(row.failed);
      }
    },
  });
  new client.Gauge({
    name: 'hearth_channel_health_status',
    help: '1 when the dimension is healthy: transport (connection open), application (authenticated with the platform), functional (handled a message lately or answered a probe; absent until first checked).',
    labelNames: ['channel', 'account', 'dimension'],
    registers: [register],
    async collect() {
      this.reset();
      for (const account of await sources.channels()) {
        this.labels(account.channel, account.accountId, 'transport').set(account.connected ? 1 : 0);
        this.labels(account.channel, account.accountId, 'application').set(account.authenticated ? 1 : 0);
      }
      // Not known yet (never checked, or no probe while the chat is quiet) is left out rather
      // than reported as a failure an alert rule would fire on.
      for (const report of sources.channelHealth?.() ?? []) {
        const functional = report.dimensions.functional.status;
        if (functional !== 'unknown') this.labels(report.channel, report.account, 'functional').set(functional === 'ok' ? 1 : 0);
      }
    },
  });
}

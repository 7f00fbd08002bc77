import pg from 'pg';
import type { ComponentHealth } from '../gateway/gateway-context.js';
import type { LaneOwnership } from '../sessions/turn-service.js';
import { createEventBus, type EventBus } from './event-bus.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { createLeases, isAlive, type Leases, type NodeRow } from './leases.js';
import { createSessionOwnership } from './session-ownership.js';
import { checkSharedWorkspaces } from './shared-workspaces.js';

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ClusterNodeOptions {
  url: string;
  nodeId: string;
  leaseMs: number;
  workspacesDir: string;
  logger: Logger;
}

/** Leases a subsystem wants (channel accounts, the cron schedule), kept while this node runs. */
export interface LeaseHolder {
  /** The names (without the prefix) this node holds now. */
  held(): string[];
  /** Tries for the wanted names now (after a config change) instead of at the next round. */
  refresh(): void;
  /** Releases them all (the subsystem is stopping) so other nodes take over at once. */
  stop(): Promise<void>;
}

export interface HoldOptions {
  /** Lease names are `<prefix><name>`, e.g. `channel:` + `telegram:default`. */
  prefix: string;
  wanted(): string[];
  onAcquired(name: string): void;
  onLost(name: string, reason: string): void;
}

/** What `/metrics` shows of the cluster. */
export interface ClusterFigures {
  nodesAlive: number;
  busConnected: boolean;
  held: Record<string, number>;
}

function createHolders(leases: Leases, leaseMs: number, logger: Logger) {
  const holders = new Map<string, { prefix: string; keeper: ReturnType<typeof createLeaseKeeper> }>();
  return {
    hold(options: HoldOptions): LeaseHolder {
      const { prefix } = options;
      const keeper = createLeaseKeeper({
        leases,
        ttlMs: leaseMs,
        wanted: () => options.wanted().map((name) => `${prefix}${name}`),
        onAcquired: (name) => {
          logger.info({ lease: name }, 'this node took over the lease');
          options.onAcquired(name.slice(prefix.length));
        },
        onLost: (name, reason) => {
          logger.info({ lease: name, reason }, 'this node gave up the lease');
          options.onLost(name.slice(prefix.length), reason);
        },
        onError: (error) => logger.warn({ err: error, prefix }, 'a lease could not be renewed or taken'),
      });
      keeper.start();
      holders.set(prefix, { prefix, keeper });
      return {
        held: () => keeper.held().map((name) => name.slice(prefix.length)),
        refresh: () => void keeper.tick().catch((error: unknown) => logger.warn({ err: error, prefix }, 'a lease round failed')),
        stop: async () => {
          holders.delete(prefix);
          await keeper.stop();
        },
      };
    },
    counts: () => Object.fromEntries([...holders.values()].map(({ prefix, keeper }) => [prefix.replace(/:$/, ''), keeper.held().length])),
    stopAll: () => Promise.all([...holders.values()].map(({ keeper }) => keeper.stop())),
  };
}

/** The bits of this node's own state a heartbeat round refreshes. */
interface NodeState {
  url: string;
  startedAt: number;
  nodes: NodeRow[];
  heartbeatError: string | null;
  workspaceProblem: string | null;
  timer: ReturnType<typeof setInterval> | null;
  sweepTimer: ReturnType<typeof setInterval> | null;
  sweeping: boolean;
  sweepAgain: 'all' | 'told' | null;
  stopped: boolean;
}

export async function createClusterNode(options: ClusterNodeOptions) {
  const { logger, leaseMs, nodeId } = options;
  const pool = new pg.Pool({ connectionString: options.url, max: 4, connectionTimeoutMillis: Math.max(2000, leaseMs / 2) });
  pool.on('error', (error) => logger.warn({ err: error }, 'a cluster database connection failed'));
  const leases = await createLeases(pool, nodeId);
  const bus: EventBus = await createEventBus({ url: options.url, nodeId, pool, onError: (error) => logger.warn({ err: error }, 'the cluster event bus failed; reconnecting') });
  const state: NodeState = { url: '', startedAt: Date.now(), nodes: [], heartbeatError: null, workspaceProblem: null, timer: null, sweepTimer: null, sweeping: false, sweepAgain: null, stopped: false };
  state.workspaceProblem = await checkSharedWorkspaces(pool, options.workspacesDir);
  if (state.workspaceProblem) logger.error({ workspacesDir: options.workspacesDir }, state.workspaceProblem);
  const sessions = createSessionOwnership({
    leases,
    ttlMs: leaseMs,
    lingerMs: Math.floor(leaseMs / 3),
    onLost: (lane, reason) => logger.warn({ lane, reason }, 'this node lost a session it was running turns of; the store lets only one node finish each turn'),
    onError: (error) => logger.warn({ err: error }, 'a session lease could not be renewed or given back'),
  });
  const holders = createHolders(leases, leaseMs, logger);
  /** Sweep tasks, and whether each also runs when a peer tells this node it has work for it. */
  const sweepTasks = new Map<() => Promise<unknown>, boolean>();

  /** Runs the sweep tasks (only those that take peers' work when `told`); a sweep asked for during one runs after it. */
  async function sweep(told = false): Promise<void> {
    if (state.sweeping) {
      state.sweepAgain = state.sweepAgain === 'all' || !told ? 'all' : 'told';
      return;
    }
    state.sweeping = true;
    let kind: 'all' | 'told' = told ? 'told' : 'all';
    try {
      for (;;) {
        state.sweepAgain = null;
        for (const [task, whenTold] of sweepTasks) {
          if (kind === 'all' || whenTold) await task().catch((error: unknown) => logger.warn({ err: error }, 'a cluster sweep failed'));
        }
        if (state.sweepAgain === null || state.stopped) break;
        kind = state.sweepAgain;
      }
    } finally {
      state.sweeping = false;
    }
  }

  async function heartbeat(): Promise<void> {
    try {
      await leases.heartbeat({ url: state.url, startedAt: state.startedAt });
      state.nodes = await leases.nodes();
      state.heartbeatError = null;
    } catch (error) {
      state.heartbeatError = error instanceof Error ? error.message : String(error);
    }
    await sessions.renew();
  }

  const lanes: LaneOwnership = {
    claim: (lane) => sessions.claim(lane),
    release: (lane) => sessions.release(lane),
    // The holder takes the turn up at once instead of at its next sweep.
    tellHolder: (lane) => void bus.publish('lanes', { lane }).catch(() => {}),
    async heldElsewhere() {
      const held = await leases.list('session:');
      return new Set(held.filter((lease) => lease.holder !== nodeId && lease.expiresInMs > 0).map((lease) => lease.name.slice('session:'.length)));
    },
    abortElsewhere: (runId) => void bus.publish('abort', { runId }).catch(() => {}),
  };
  bus.subscribe('lanes', () => void sweep(true));

  await heartbeat();
  const interval = Math.max(100, Math.floor(leaseMs / 3));
  state.timer = setInterval(() => void heartbeat(), interval);
  state.timer.unref();
  state.sweepTimer = setInterval(() => void sweep(), interval);
  state.sweepTimer.unref();

  const aliveNodes = () => state.nodes.filter((node) => isAlive(node, leaseMs));

  return {
    nodeId,
    leaseMs,
    lanes,
    hold: holders.hold,
    publish(topic: string, payload: unknown): void {
      bus.publish(topic, payload).catch((error: unknown) => logger.warn({ err: error, topic }, 'an event for the other nodes could not be sent'));
    },
    subscribe: (topic: string, listener: (payload: unknown, from: string) => void) => bus.subscribe(topic, listener),
    /**
     * Runs `task` every third of a lease and, with `whenTold`, also whenever a peer tells this node
     * it has work for it (a turn for a session this node holds); returns the unsubscribe.
     */
    everySweep(task: () => Promise<unknown>, options: { whenTold?: boolean } = {}): () => void {
      sweepTasks.set(task, options.whenTold ?? false);
      return () => sweepTasks.delete(task);
    },
    /** Where this node serves (shown by `hearth cluster status`). */
    setUrl(url: string): void {
      state.url = url;
      void heartbeat();
    },
    figures: (): ClusterFigures => ({ nodesAlive: aliveNodes().length, busConnected: bus.connected(), held: { session: sessions.held().length, ...holders.counts() } }),
    health(): ComponentHealth {
      const problems = [
        state.workspaceProblem,
        state.heartbeatError ? `its heartbeat could not be written: ${state.heartbeatError}` : null,
        bus.connected() ? null : 'the event bus is reconnecting: clients here do not see turns other nodes run until it is back',
      ].filter((problem): problem is string => problem !== null);
      const held = Object.entries({ session: sessions.held().length, ...holders.counts() }).map(([kind, count]) => `${count} ${kind}`).join(', ');
      const detail = `node ${nodeId}, ${aliveNodes().length} node(s) alive, holding ${held}`;
      return problems.length === 0 ? { status: 'ok', detail } : { status: 'degraded', detail: `${detail}; ${problems.join('; ')}` };
    },
    /** Stops taking turns up from other nodes (running ones finish in the turns' drain). */
    drain(): void {
      if (state.sweepTimer) clearInterval(state.sweepTimer);
      state.sweepTimer = null;
      sweepTasks.clear();
    },
    async stop(): Promise<void> {
      state.stopped = true;
      if (state.timer) clearInterval(state.timer);
      if (state.sweepTimer) clearInterval(state.sweepTimer);
      state.timer = null;
      state.sweepTimer = null;
      await holders.stopAll();
      await sessions.releaseAll();
      await pool.query('DELETE FROM cluster_nodes WHERE node_id = $1', [nodeId]).catch(() => {});
      await bus.close();
      await pool.end().catch(() => {});
    },
  };
}

export type ClusterNode = Awaited<ReturnType<typeof createClusterNode>>;

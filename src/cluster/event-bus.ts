import pg from 'pg';
import { ensureClusterTables } from './leases.js';

/**
 * Events between gateways over PostgreSQL's LISTEN/NOTIFY, so a client watching a session on one
 * node sees the turn another node runs. The database every node already uses is the broker: no
 * other service to run, and a node that can reach its state can reach its peers. A payload over
 * NOTIFY's 8,000-byte limit is stored in `cluster_events` and the notification carries its id.
 * The listening connection reconnects with backoff and listens again; events sent while it was
 * away are lost to it (they are live views; what matters is in the store).
 */
export interface EventBus {
  publish(topic: string, payload: unknown): Promise<void>;
  /** Calls `listener` for each event on `topic` from other nodes; returns the unsubscribe. */
  subscribe(topic: string, listener: (payload: unknown, from: string) => void): () => void;
  /** Whether the listening connection is up. */
  connected(): boolean;
  close(): Promise<void>;
}

const CHANNEL = 'hearth_events';
const INLINE_LIMIT = 7000;

interface Envelope {
  from: string;
  topic: string;
  payload?: unknown;
  ref?: number;
}

export interface EventBusOptions {
  url: string;
  nodeId: string;
  pool: pg.Pool;
  onError?(error: unknown): void;
}

export async function createEventBus(options: EventBusOptions): Promise<EventBus> {
  await ensureClusterTables(options.pool);
  const listeners = new Map<string, Set<(payload: unknown, from: string) => void>>();
  const state = { client: null as pg.Client | null, closed: false, up: false, retryMs: 100, timer: null as ReturnType<typeof setTimeout> | null };

  async function deliver(text: string): Promise<void> {
    const envelope = JSON.parse(text) as Envelope;
    if (envelope.from === options.nodeId) return;
    const topicListeners = listeners.get(envelope.topic);
    if (!topicListeners || topicListeners.size === 0) return;
    let payload = envelope.payload;
    if (envelope.ref !== undefined) {
      const row = await options.pool.query<{ body: unknown }>('SELECT body FROM cluster_events WHERE id = $1', [envelope.ref]);
      payload = row.rows[0]?.body;
    }
    for (const listener of topicListeners) listener(payload, envelope.from);
  }

  function scheduleReconnect(): void {
    state.up = false;
    if (state.closed || state.timer) return;
    state.timer = setTimeout(() => {
      state.timer = null;
      void connect();
    }, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 5000);
  }

  async function connect(): Promise<void> {
    const client = new pg.Client({ connectionString: options.url });
    client.on('notification', (message) => {
      if (message.payload) deliver(message.payload).catch((error: unknown) => options.onError?.(error));
    });
    client.on('error', (error) => {
      options.onError?.(error);
      client.end().catch(() => {});
      if (state.client === client) scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      state.client = client;
      state.up = true;
      state.retryMs = 100;
      client.on('end', () => {
        if (state.client === client) scheduleReconnect();
      });
      if (state.closed) await client.end();
    } catch (error) {
      options.onError?.(error);
      client.end().catch(() => {});
      scheduleReconnect();
    }
  }

  await connect();
  return {
    async publish(topic, payload) {
      const inline = JSON.stringify({ from: options.nodeId, topic, payload } satisfies Envelope);
      if (Buffer.byteLength(inline) <= INLINE_LIMIT) {
        await options.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, inline]);
        return;
      }
      const stored = await options.pool.query<{ id: string }>('INSERT INTO cluster_events (body) VALUES ($1) RETURNING id', [JSON.stringify(payload)]);
      await options.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ from: options.nodeId, topic, ref: Number(stored.rows[0]?.id) } satisfies Envelope)]);
      await options.pool.query("DELETE FROM cluster_events WHERE created_at < now() - interval '1 minute'");
    },
    subscribe(topic, listener) {
      const set = listeners.get(topic) ?? new Set();
      set.add(listener);
      listeners.set(topic, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(topic);
      };
    },
    connected: () => state.up,
    async close() {
      state.closed = true;
      if (state.timer) clearTimeout(state.timer);
      state.timer = null;
      const client = state.client;
      state.client = null;
      state.up = false;
      await client?.end().catch(() => {});
    },
  };
}

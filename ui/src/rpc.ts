/**
 * The gateway's WebSocket RPC (docs/api.md): `connect` with the token, then requests answered by
 * id and events pushed by the server. Reconnects with backoff; a refused token stops it.
 */

export type ConnectionState = 'connecting' | 'connected' | 'offline' | 'refused';

export interface RpcError {
  code: string;
  message: string;
}

type Pending = { resolve(value: unknown): void; reject(error: Error): void; timer: number };
type Listener = (payload: unknown) => void;

const CALL_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 10_000;

export class RpcClient {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private failures = 0;
  private retry: number | undefined;
  private closed = false;
  /** The gateway refused the token itself (not a limit or a timeout, which a retry gets past). */
  private tokenRefused = false;
  state: ConnectionState = 'connecting';

  constructor(private readonly token: string) {
    this.open();
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Listens to a server event (`chat`, `approval`, `health`, …); returns the unsubscribe. */
  on(event: string, listener: Listener): () => void {
    const set = this.listeners.get(event) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(event, set);
    return () => set.delete(listener);
  }

  /** Hands `payload` to the listeners of `event` as if the server had pushed it. */
  dispatch(event: string, payload: unknown): void {
    for (const listener of this.listeners.get(event) ?? []) listener(payload);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.state !== 'connected' || !this.socket) return reject(new Error('Not connected to the gateway.'));
      const id = `r${this.nextId++}`;
      const timer = window.setTimeout(() => this.settle(id, new Error(`${method} did not answer within ${CALL_TIMEOUT_MS / 1000} s.`)), CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify({ type: 'req', id, method, params }));
    });
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.retry);
    this.socket?.close(1000, 'closed by the page');
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private open(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.setState('connecting');
    socket.onopen = () => socket.send(JSON.stringify({ type: 'req', id: 'connect', method: 'connect', params: { auth: { token: this.token }, client: { name: 'control-ui', version: '1' } } }));
    socket.onmessage = (message) => this.receive(String(message.data));
    socket.onclose = (event) => this.closedBy(event.code);
  }

  private receive(text: string): void {
    const frame = JSON.parse(text) as { type: string; id?: string; ok?: boolean; payload?: unknown; error?: RpcError; event?: string };
    if (frame.type === 'event' && frame.event) {
      this.dispatch(frame.event, frame.payload);
      return;
    }
    if (frame.type !== 'res' || !frame.id) return;
    if (frame.id === 'connect') {
      if (frame.ok) {
        this.failures = 0;
        this.setState('connected');
      } else {
        this.tokenRefused = frame.error?.code === 'AUTH_INVALID' || frame.error?.code === 'AUTH_REQUIRED';
      }
      return;
    }
    this.settle(frame.id, frame.ok ? null : new Error(frame.error?.message ?? 'the gateway refused the request'), frame.payload);
  }

  private settle(id: string, error: Error | null, payload?: unknown): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    window.clearTimeout(entry.timer);
    if (error) entry.reject(error);
    else entry.resolve(payload);
  }

  private closedBy(code: number): void {
    for (const id of [...this.pending.keys()]) this.settle(id, new Error('The connection to the gateway closed.'));
    if (this.closed) return;
    if (code === 1008 && this.tokenRefused) {
      this.setState('refused');
      return;
    }
    this.setState('offline');
    this.failures += 1;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.failures, 6));
    this.retry = window.setTimeout(() => this.open(), delay);
  }
}

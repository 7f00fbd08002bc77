import type { z } from 'zod';
import type { GatewayContext } from '../gateway-context.js';

/** One connected, authenticated WebSocket client, as RPC handlers see it. */
export interface RpcConnection {
  readonly id: string;
  /** Pushes `chat` events of this session to the connection from now on (bounded per connection). */
  watch(sessionKey: string): void;
  /** Sends one event frame to this connection only (progress of a request it made); dropped once it is closed. */
  notify(event: string, payload: unknown): void;
  /** Pushes `health` events to the connection whenever the health snapshot changes; returns the snapshot now. */
  watchHealth(): unknown;
}

/** What a method does and what it answers, for people: docs/api.md is generated from it. */
export interface RpcMethodDoc {
  /** One sentence: what the method does. */
  description: string;
  /** The shape of the payload it answers with, e.g. `{runId, aborted}`. */
  returns: string;
}

export interface RpcMethod<S extends z.ZodType = z.ZodType> extends RpcMethodDoc {
  params: S;
  handle(params: z.infer<S>, connection: RpcConnection, context: GatewayContext): Promise<unknown>;
}

/** Declares a method with its documentation and params schema, keeping handler params typed. */
export function defineMethod<S extends z.ZodType>(doc: RpcMethodDoc, params: S, handle: RpcMethod<S>['handle']): RpcMethod {
  return { description: doc.description, returns: doc.returns, params, handle } as RpcMethod;
}

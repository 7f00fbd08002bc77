import type { z } from 'zod';
import type { GatewayContext } from '../gateway-context.js';

/** One connected, authenticated WebSocket client, as RPC handlers see it. */
export interface RpcConnection {
  readonly id: string;
  /** Pushes `chat` events of this session to the connection from now on (bounded per connection). */
  watch(sessionKey: string): void;
}

export interface RpcMethod<S extends z.ZodType = z.ZodType> {
  params: S;
  handle(params: z.infer<S>, connection: RpcConnection, context: GatewayContext): Promise<unknown>;
}

/** Declares a method with its params schema, keeping handler params typed. */
export function defineMethod<S extends z.ZodType>(params: S, handle: RpcMethod<S>['handle']): RpcMethod {
  return { params, handle } as RpcMethod;
}

import { alertMethods } from './alert-methods.js';
import { approvalMethods } from './approval-methods.js';
import { channelMethods } from './channel-methods.js';
import { chatMethods } from './chat-methods.js';
import { configMethods } from './config-methods.js';
import { cronMethods } from './cron-methods.js';
import { logMethods } from './log-methods.js';
import { pluginMethods } from './plugin-methods.js';
import { memoryMethods } from './memory-methods.js';
import type { RpcMethod } from './rpc-types.js';
import { runMethods } from './run-methods.js';
import { runPlanMethods } from './run-plan-methods.js';
import { sessionMethods } from './session-methods.js';
import { skillMethods } from './skill-methods.js';
import { statusMethods } from './status-methods.js';
import { taskMethods } from './task-methods.js';
import { usageMethods } from './usage-methods.js';

/**
 * Every WebSocket RPC method after `connect`, by name. The WS gateway serves exactly these, and
 * the method reference in docs/api.md is generated from them (`npm run docs`).
 */
export const rpcMethods: Readonly<Record<string, RpcMethod>> = Object.freeze({
  ...chatMethods,
  ...sessionMethods,
  ...statusMethods,
  ...channelMethods,
  ...runMethods,
  ...runPlanMethods,
  ...cronMethods,
  ...logMethods,
  ...memoryMethods,
  ...approvalMethods,
  ...pluginMethods,
  ...skillMethods,
  ...alertMethods,
  ...configMethods,
  ...usageMethods,
  ...taskMethods,
});

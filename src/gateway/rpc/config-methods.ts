import { z } from 'zod';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const ISSUES = '[{path, line, column, message, suggestion?}]';
/** Config files are small; this bounds what a client can make the gateway parse. */
const configText = z.string().max(1_000_000);

/** `config.get|validate|apply`: the config file for the Control UI and `hearth config`, secrets never in clear. */
export const configMethods: Record<string, RpcMethod> = {
  'config.get': defineMethod(
    {
      description: 'The config file\'s text and the config in force (every default filled in), each secret value replaced by "[hidden secret]"; `hash` identifies the file for `config.apply`; `lastRejected` is the last edit refused (by `config.apply` or in the file) and why.',
      returns: `{path, exists, text, effective, hash, lastRejected: {at, text?, issues:${ISSUES}} | null}`,
    },
    z.strictObject({}).optional(),
    async (_params, _connection, context) => context.configFile.read(),
  ),
  'config.validate': defineMethod(
    { description: 'Checks a config text as `hearth config validate` does, changing nothing; a "[hidden secret]" value stands for the one the file has at that key.', returns: `{ok, issues:${ISSUES}, warnings}` },
    z.strictObject({ text: configText }),
    async (params, _connection, context) => context.configFile.validate(params.text),
  ),
  'config.apply': defineMethod(
    {
      description: 'Replaces the config file with `text` and puts it in force at once, if it is valid and the file is still the one `baseHash` (from `config.get`) names (else CONFLICT). A "[hidden secret]" value keeps the secret the file has at that key. The previous file is kept as hearth.json5.bak; an invalid text changes nothing and becomes `lastRejected`.',
      returns: `{applied, hash, issues:${ISSUES}, warnings}`,
    },
    z.strictObject({ text: configText, baseHash: z.string().min(1).max(100) }),
    async (params, _connection, context) => context.configFile.apply(params.text, params.baseHash),
  ),
};

import { z } from 'zod';
import { LOG_LEVELS, type LogLevelName, MAX_LOG_ENTRIES, readLog } from '../../observability/log-reader.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const levels = Object.keys(LOG_LEVELS) as [LogLevelName, ...LogLevelName[]];

const tailParams = z
  .object({
    limit: z.number().int().min(1).max(MAX_LOG_ENTRIES).optional(),
    level: z.enum(levels).optional(),
    component: z.string().min(1).max(64).optional(),
    after: z.number().int().min(0).optional(),
  })
  .strict()
  .default({});

export const logMethods: Record<string, RpcMethod> = {
  /**
   * The gateway's own log lines (JSON records as written, secrets already redacted): the newest
   * `limit` (default 100), or with `after` (a `cursor` from an earlier answer) those written since.
   */
  'logs.tail': defineMethod(
    {
      description:
        "The gateway's own log lines as JSON records (secrets redacted): the newest `limit` (default 100) at `level` and above and of `component` (`gateway` matches lines that name none), or with `after` (an earlier `cursor`) those written since, oldest first; each call reads 4 MiB of the file at most.",
      returns: '{entries:[{level, time, msg, component?, …}], cursor, truncated}',
    },
    tailParams,
    async (params, _connection, context) => {
      const page = await readLog(context.logFile, params);
      return { entries: page.entries.map((entry) => entry.record), cursor: page.cursor, truncated: page.truncated };
    },
  ),
};

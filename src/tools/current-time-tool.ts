import { z } from 'zod';
import type { Tool } from '../contracts/tool.js';
import { defineTool, errorResult } from './define-tool.js';

const schema = z.strictObject({
  timezone: z.string().min(1).optional(),
});
type CurrentTimeArguments = z.infer<typeof schema>;

/**
 * `current_time {timezone?}`: the current time (from `context.now()`) as ISO 8601 UTC, plus the
 * local date and time in an IANA zone (default: the gateway host's zone). An unknown zone is an
 * `isError` result.
 */
export function createCurrentTimeTool(): Tool {
  return defineTool<CurrentTimeArguments>({
    spec: {
      name: 'current_time',
      description:
        'Get the current date and time, in UTC and in a time zone. Pass timezone as an IANA name like "Europe/Berlin" ' +
        "or \"America/New_York\"; without it, the gateway's own zone is used.",
      parameters: {
        type: 'object',
        properties: {
          timezone: { type: 'string', description: 'IANA time zone name, e.g. "Asia/Tokyo".' },
        },
        additionalProperties: false,
      },
    },
    sideEffects: false,
    schema,
    usage: 'current_time {"timezone"?: string (IANA name)}',
    async run(args, context) {
      const now = context.now();
      let format: Intl.DateTimeFormat;
      try {
        format = new Intl.DateTimeFormat('en-US', {
          timeZone: args.timezone,
          weekday: 'long',
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          hourCycle: 'h23',
          timeZoneName: 'longOffset',
        });
      } catch {
        return errorResult(
          `Unknown time zone ${JSON.stringify(args.timezone)}. Use an IANA name like "Europe/Berlin", "America/New_York" or "UTC".`,
        );
      }
      const zone = format.resolvedOptions().timeZone;
      const parts = format.formatToParts(now);
      const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((entry) => entry.type === type)?.value ?? '';
      const local = `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}`;
      return {
        content: `UTC: ${now.toISOString()}\nLocal time in ${zone}: ${local} (${part('weekday')}, ${part('timeZoneName')})`,
      };
    },
  });
}

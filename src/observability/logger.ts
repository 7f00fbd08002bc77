import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';

export type Logger = pino.Logger;

/** Keys whose values never reach a log line, at any depth pino's redaction reaches. */
export const REDACTED_PATHS = [
  'token',
  'apiKey',
  'authorization',
  'password',
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.password',
  'headers.authorization',
  '*.headers.authorization',
  'auth.token',
  '*.auth.token',
  'config.models.providers.*.apiKey',
];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const OMITTED: readonly string[] = ['level', 'time', 'pid', 'hostname', 'msg', 'name'];

/**
 * pino's error fields, with `type` the error's own name where it has one: the bundled code's
 * class names are minified (`constructor.name` is a letter), an error's `name` is not.
 */
export function serializeError(error: Error): ReturnType<typeof pino.stdSerializers.err> {
  const fields = pino.stdSerializers.err(error);
  if (error instanceof Error && error.name !== 'Error') fields.type = error.name;
  return fields;
}

/** Formats pino's JSON lines for a person at a terminal: time, level, message, then key=value. */
export function formatLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toTimeString().slice(0, 8);
  const level = LEVEL_NAMES[typeof record.level === 'number' ? record.level : 30] ?? 'INFO ';
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.includes(key))
    .map(([key, value]) => {
      if (value && typeof value === 'object' && 'message' in value) return `${key}=${JSON.stringify((value as { message: unknown }).message)}`;
      return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    });
  return `${time} ${level} ${String(record.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}

/** The gateway's JSON log file in a logs folder. */
export function gatewayLogPath(logsDir: string): string {
  return join(logsDir, 'gateway.log');
}

/**
 * Adds fields to every log line for which `fieldsOf` returns some (given the line's own fields);
 * returns the function that stops it. `fieldsOf` must be cheap and must not throw.
 */
export type AddLogFields = (fieldsOf: (line: object) => object | undefined) => () => void;

export interface LoggerOptions {
  level: string;
  /** Folder for the JSON log file (`gateway.log`); none → no file. */
  logsDir?: string;
  /** Where readable lines go (default stderr); null → nowhere. */
  terminal?: NodeJS.WritableStream | null;
}

/** Builds the gateway logger: JSON lines to `logs/gateway.log`, readable lines to the terminal. */
export function createLogger(options: LoggerOptions): { logger: Logger; flush(): void; addFields: AddLogFields } {
  // Fields a later subsystem adds to log lines (tracing: the trace id of a line about a run).
  const extraFields: ((line: object) => object | undefined)[] = [];
  const streams: pino.StreamEntry[] = [];
  let file: pino.DestinationStream & { flushSync?: () => void } | undefined;
  if (options.logsDir) {
    mkdirSync(options.logsDir, { recursive: true, mode: 0o700 });
    file = pino.destination({ dest: gatewayLogPath(options.logsDir), sync: false, mkdir: true });
    streams.push({ level: 'trace', stream: file });
  }
  const terminal = options.terminal === undefined ? process.stderr : options.terminal;
  if (terminal) {
    const pretty = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        terminal.write(formatLogLine(chunk.toString('utf8').trimEnd()));
        callback();
      },
    });
    streams.push({ level: 'trace', stream: pretty });
  }
  const logger = pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
      mixin: (line: object) => {
        if (extraFields.length === 0) return {};
        let fields: object = {};
        for (const fieldsOf of extraFields) fields = { ...fields, ...fieldsOf(line) };
        return fields;
      },
    },
    pino.multistream(streams),
  );
  return {
    logger,
    addFields(fieldsOf) {
      extraFields.push(fieldsOf);
      return () => {
        const index = extraFields.indexOf(fieldsOf);
        if (index >= 0) extraFields.splice(index, 1);
      };
    },
    flush() {
      try {
        file?.flushSync?.();
      } catch {
        // The file may not be open yet; nothing to flush.
      }
    },
  };
}

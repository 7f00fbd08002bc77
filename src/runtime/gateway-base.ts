import { readFileSync } from 'node:fs';
import { type ConfigIssue, formatConfigIssues, loadConfigFile } from '../config/load-config.js';
import { type ConfigState, createConfigState } from '../config/config-state.js';
import { ensureHearthDirs, type HearthPaths, resolveHearthPaths } from '../config/paths.js';
import { resolveGatewayToken } from '../gateway/gateway-token.js';
import { type AddLogFields, createLogger, type Logger } from '../observability/logger.js';
import { type Clock, systemClock } from './clock.js';

export type Env = Record<string, string | undefined>;

/** Thrown when the gateway cannot start because of its config; the CLI exits with 78. */
export class ConfigRefused extends Error {
  override readonly name = 'ConfigRefused';
  constructor(readonly issues: ConfigIssue[]) {
    super(formatConfigIssues(issues));
  }
}

/** What every subsystem may take: where things are, the config in force, the log, the clock. */
export interface GatewayBase {
  env: Env;
  paths: HearthPaths;
  config: ConfigState;
  logger: Logger;
  clock: Clock;
  version: string;
  startedAt: number;
  token: string;
  /** Writes buffered log lines out; called last at stop. */
  flushLog(): void;
  /** Adds fields to log lines (the trace id of a line about a traced run). */
  addLogFields: AddLogFields;
}

export function readVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Loads the config (refusing an invalid one), creates the home's folders, the log and the token:
 * everything the subsystems share.
 */
export function prepareGateway(options: { env: Env; terminal?: NodeJS.WritableStream | null }): GatewayBase {
  const env: Env = { ...options.env };
  const paths = resolveHearthPaths(env);
  const loaded = loadConfigFile(paths.configPath, env);
  if (!loaded.ok) throw new ConfigRefused(loaded.issues);
  ensureHearthDirs(paths);
  const { logger, flush, addFields } = createLogger({
    level: env.HEARTH_LOG_LEVEL ?? loaded.config.logging.level,
    logsDir: paths.logsDir,
    ...(options.terminal === undefined ? {} : { terminal: options.terminal }),
  });
  for (const warning of loaded.warnings ?? []) {
    logger.warn({ file: warning.file, line: warning.line, key: warning.path }, `${warning.message}${warning.suggestion ? ` — ${warning.suggestion}` : ''}`);
  }
  return {
    env,
    paths,
    config: createConfigState(loaded),
    logger,
    clock: systemClock,
    version: readVersion(),
    startedAt: Date.now(),
    token: resolveGatewayToken(env, loaded.config, paths, true)!,
    flushLog: flush,
    addLogFields: addFields,
  };
}

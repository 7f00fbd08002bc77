import { readFileSync } from 'node:fs';
import JSON5 from 'json5';
import { loadConfigFile } from '../config/load-config.js';
import { type HearthPaths, resolveHearthPaths } from '../config/paths.js';
import { configSchema, type HearthConfig } from '../config/schema.js';
import { readGatewayAddress } from '../gateway/gateway-address-file.js';
import { resolveGatewayToken } from '../gateway/gateway-token.js';
import { connectGateway, type GatewayClient, GatewayUnreachable } from './gateway-client.js';


export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether `out` goes to a terminal (progress is shown there, never into a pipe or file). */
  outIsTerminal?: boolean;
}

/** Exit code for a configuration error (EX_CONFIG), which supervisors must not restart on. */
export const EXIT_CONFIG = 78;
/** Exit code for a damaged state database (EX_DATAERR): restarting will not help, `hearth doctor --fix` may. */
export const EXIT_STORE_DAMAGED = 65;

export interface CliRuntime {
  env: Record<string, string | undefined>;
  io: CliIo;
  stdin: NodeJS.ReadableStream;
  /** Called once when a started gateway is ready (bin/hearth.js saves V8's code cache then). */
  started?: () => void;
}

/** A failure the CLI reports in one line and an exit code, without a stack trace. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * The config the CLI works with. When the file on disk is invalid (an edit the running gateway
 * rejected), the gateway settings that still read cleanly from it are used, so the CLI finds a
 * gateway whose port or token come from the file.
 */
export function cliConfig(paths: HearthPaths, env: Record<string, string | undefined>): HearthConfig {
  const loaded = loadConfigFile(paths.configPath, env);
  if (loaded.ok) return loaded.config;
  const defaults = configSchema().parse({}, { jitless: true });
  try {
    const raw = JSON5.parse(readFileSync(paths.configPath, 'utf8')) as { gateway?: { port?: unknown; bind?: unknown; auth?: { token?: unknown } } };
    const port = typeof raw.gateway?.port === 'number' ? raw.gateway.port : defaults.gateway.port;
    const bind = typeof raw.gateway?.bind === 'string' ? raw.gateway.bind : defaults.gateway.bind;
    const token = raw.gateway?.auth?.token;
    const usableToken = typeof token === 'string' && !token.includes('${') ? token : undefined;
    return { ...defaults, gateway: { ...defaults.gateway, port, bind, auth: usableToken ? { token: usableToken } : {} } };
  } catch {
    return defaults;
  }
}

/**
 * Where the CLI finds the gateway: HEARTH_GATEWAY_URL; else the address the running gateway
 * recorded in `state/gateway.json` (when its process is alive); else the port and bind in the config.
 */
export function gatewayTarget(env: Record<string, string | undefined>) {
  const paths = resolveHearthPaths(env);
  const config = cliConfig(paths, env);
  const host = config.gateway.bind === 'loopback' || config.gateway.bind === 'lan' ? '127.0.0.1' : config.gateway.bind;
  const url = env.HEARTH_GATEWAY_URL || (readGatewayAddress(paths.stateDir)?.url ?? `http://${host}:${config.gateway.port}`);
  const token = resolveGatewayToken(env, config, paths, false);
  return { url, token, paths, config };
}

/** Connects to the running gateway, or explains how to start one. */
export async function withGateway<T>(env: Record<string, string | undefined>, io: CliIo, action: (client: GatewayClient) => Promise<T>): Promise<T> {
  const target = gatewayTarget(env);
  if (!target.token) {
    throw new GatewayUnreachable(`No gateway token found in ${target.paths.credentialsDir}. Start the gateway once with \`hearth gateway\` (it creates one).`);
  }
  let client: GatewayClient;
  try {
    client = await connectGateway(target.url, target.token);
  } catch (error) {
    if (error instanceof GatewayUnreachable) {
      throw new GatewayUnreachable(`${error.message} Start it with \`hearth gateway\` (or \`npm start\`), or set HEARTH_GATEWAY_URL.`);
    }
    throw error;
  }
  try {
    return await action(client);
  } finally {
    client.close();
    void io;
  }
}

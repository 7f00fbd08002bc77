import { loadConfigFile } from '../config/load-config.js';
import { resolveHearthPaths } from '../config/paths.js';
import { configSchema } from '../config/schema.js';
import { resolveGatewayToken } from '../main.js';
import { connectGateway, type GatewayClient, GatewayUnreachable } from './gateway-client.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Where the CLI finds the gateway: HEARTH_GATEWAY_URL, else the port and bind in the config. */
export function gatewayTarget(env: Record<string, string | undefined>) {
  const paths = resolveHearthPaths(env);
  const loaded = loadConfigFile(paths.configPath, env);
  const config = loaded.ok ? loaded.config : configSchema.parse({});
  const host = config.gateway.bind === 'loopback' || config.gateway.bind === 'lan' ? '127.0.0.1' : config.gateway.bind;
  const url = env.HEARTH_GATEWAY_URL ?? `http://${host}:${config.gateway.port}`;
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

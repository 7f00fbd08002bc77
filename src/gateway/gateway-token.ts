import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HearthPaths } from '../config/paths.js';
import type { HearthConfig } from '../config/schema.js';

/**
 * The gateway token: `HEARTH_GATEWAY_TOKEN`, else `gateway.auth.token`, else the one stored in
 * `credentials/gateway-token` (created on first start, mode 0600, written atomically).
 */
export function resolveGatewayToken(env: Record<string, string | undefined>, config: HearthConfig, paths: HearthPaths, create: boolean): string | undefined {
  if (env.HEARTH_GATEWAY_TOKEN) return env.HEARTH_GATEWAY_TOKEN;
  if (config.gateway.auth.token) return config.gateway.auth.token;
  const file = join(paths.credentialsDir, 'gateway-token');
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return stored;
  } catch {
    // Not created yet.
  }
  if (!create) return undefined;
  const token = randomBytes(24).toString('base64url');
  mkdirSync(paths.credentialsDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return token;
}

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a running gateway listens, recorded in `state/gateway.json` so the CLI finds a gateway
 * started with `--port` (or with a `gateway.port` that changed since). Written at start, removed
 * at stop; a file left by a gateway that died is recognised by its pid and ignored.
 */
export interface GatewayAddress {
  pid: number;
  host: string;
  port: number;
  /** `http://host:port`, the address clients connect to. */
  url: string;
  /** Epoch ms. */
  startedAt: number;
}

/** The address file's path in a state directory. */
export function gatewayAddressPath(stateDir: string): string {
  return join(stateDir, 'gateway.json');
}

/** Records the gateway's address atomically (temp file + rename, mode 0600). Throws the `fs` error. */
export function writeGatewayAddress(stateDir: string, address: GatewayAddress): void {
  const path = gatewayAddressPath(stateDir);
  const temp = `${path}.${address.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(address, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
}

/** Removes the address file if it still names process `pid` (another gateway's file stays). Never throws. */
export function removeGatewayAddress(stateDir: string, pid: number): void {
  const path = gatewayAddressPath(stateDir);
  if (readAddress(path)?.pid !== pid) return;
  rmSync(path, { force: true });
}

/**
 * The address of the gateway running from this state directory, or undefined when there is no
 * file, it is not a valid address, or its process is gone. Never throws.
 */
export function readGatewayAddress(stateDir: string, isAlive: (pid: number) => boolean = processIsAlive): GatewayAddress | undefined {
  const address = readAddress(gatewayAddressPath(stateDir));
  return address && isAlive(address.pid) ? address : undefined;
}

function readAddress(path: string): GatewayAddress | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { pid, host, port, url, startedAt } = record;
  if (!Number.isInteger(pid) || (pid as number) <= 0) return undefined;
  if (typeof host !== 'string' || !Number.isInteger(port) || typeof url !== 'string' || !/^https?:\/\//.test(url)) return undefined;
  return { pid: pid as number, host, port: port as number, url, startedAt: typeof startedAt === 'number' ? startedAt : 0 };
}

/** Signal 0 checks that a process exists; EPERM means it exists but belongs to someone else. */
function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

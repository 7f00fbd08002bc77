import net from 'node:net';

/**
 * A TCP socket bound to the gateway's address, held by the supervisor and handed to each gateway
 * process it starts (as file descriptor 3), which listens on it. The supervisor never accepts on
 * it, so while one gateway drains and the next starts, connections wait in the kernel's queue
 * instead of being refused: a switch of versions costs clients a short wait, not an error.
 */
export interface SharedSocket {
  fd: number;
  host: string;
  port: number;
  close(): void;
}

interface TcpHandle {
  fd: number;
  getsockname(out: { address?: string; port?: number }): number;
  close(): void;
}

type CreateServerHandle = (address: string, port: number, addressType: number) => TcpHandle | number;

/** Binds without listening; throws an error naming the address when it is taken. */
export function bindSharedSocket(host: string, port: number): SharedSocket {
  const create = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
  if (typeof create !== 'function') throw new Error('This Node.js cannot hand a bound socket to a child process; run `hearth gateway` directly.');
  const handle = create(host, port, net.isIPv6(host) ? 6 : 4);
  if (typeof handle === 'number') {
    const taken = handle === -98 || handle === -48;
    throw new Error(taken ? `Port ${port} on ${host} is already in use (another gateway?). Stop it, or set gateway.port.` : `Cannot bind ${host}:${port} (error ${handle}).`);
  }
  const address: { address?: string; port?: number } = {};
  handle.getsockname(address);
  return { fd: handle.fd, host: address.address ?? host, port: address.port ?? port, close: () => handle.close() };
}

/** Binds, retrying while the address is taken (a gateway of a supervisor that died still draining). */
export async function bindSharedSocketWithin(host: string, port: number, waitMs: number, sleep: (ms: number) => Promise<void>): Promise<SharedSocket> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return bindSharedSocket(host, port);
    } catch (error) {
      if (Date.now() >= deadline || !(error instanceof Error) || !error.message.includes('already in use')) throw error;
      await sleep(200);
    }
  }
}

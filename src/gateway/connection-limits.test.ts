import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { applyConnectionLimits, type ConnectionLimits } from './connection-limits.js';

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

async function limitedServer(limits: ConnectionLimits): Promise<number> {
  const server = createServer((_request, response) => response.end('ok'));
  servers.push(server);
  const { refused } = applyConnectionLimits(server, () => limits);
  server.prependListener('request', (request, response) => {
    if (refused(request.socket)) response.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Sends one keep-alive request and resolves with what came back before the answer ended or the socket closed. */
function ask(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const onData = (chunk: Buffer) => {
      answer += chunk.toString();
      if (/\r\n\r\n(ok|[^\r\n]*\n)$/.test(answer)) finish();
    };
    const finish = () => {
      socket.off('data', onData).off('close', finish);
      resolve(answer);
    };
    socket.on('data', onData).once('close', finish);
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  });
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

test('past gateway.maxConnections a new connection is answered 503 naming the setting and closed; once one closes, a new one is served', async () => {
  const port = await limitedServer({ headersTimeoutMs: 5000, bodyTimeoutMs: 5000, maxConnections: 3, maxConnectionsPerAddress: 100 });
  const held = [await open(port), await open(port), await open(port)];
  for (const socket of held) assert.match(await ask(socket), /^HTTP\/1\.1 200/);
  const over = await open(port);
  const answer = await ask(over);
  assert.match(answer, /^HTTP\/1\.1 503/);
  assert.match(answer, /gateway\.maxConnections is 3/);
  if (!over.closed) await once(over, 'close');
  held[0]!.destroy();
  await once(held[0]!, 'close');
  const again = await open(port);
  try {
    assert.match(await ask(again), /^HTTP\/1\.1 200/, 'a freed place is taken again');
    assert.match(await ask(held[1]!), /^HTTP\/1\.1 200/, 'the connections under the cap are still served');
  } finally {
    for (const socket of [...held, again]) socket.destroy();
  }
});

test('the per-address cap answers 429 before the total cap is reached', async () => {
  const port = await limitedServer({ headersTimeoutMs: 5000, bodyTimeoutMs: 5000, maxConnections: 100, maxConnectionsPerAddress: 2 });
  const held = [await open(port), await open(port)];
  for (const socket of held) assert.match(await ask(socket), /^HTTP\/1\.1 200/);
  const over = await open(port);
  const answer = await ask(over);
  for (const socket of [...held, over]) socket.destroy();
  assert.match(answer, /^HTTP\/1\.1 429/);
  assert.match(answer, /gateway\.maxConnectionsPerAddress is 2/);
});

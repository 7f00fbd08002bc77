import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/support/pg-test-database.js';
import { createEventBus, type EventBus } from './event-bus.js';

let database: TestDatabase;
const buses: EventBus[] = [];

before(async () => {
  database = await createTestDatabase('hearth_events');
});
after(async () => {
  for (const bus of buses) await bus.close();
  await database?.drop();
});

async function bus(nodeId: string): Promise<EventBus> {
  const created = await createEventBus({ url: database.url, nodeId, pool: database.pool() });
  buses.push(created);
  return created;
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

test('an event published on one node reaches the other nodes subscribed to its topic, not its own, whatever its size', async () => {
  const a = await bus('node-a');
  const b = await bus('node-b');
  const seenByB: unknown[] = [];
  const seenByA: unknown[] = [];
  b.subscribe('chat:agent:main:main', (payload, from) => seenByB.push({ payload, from }));
  a.subscribe('chat:agent:main:main', (payload) => seenByA.push(payload));
  await a.publish('chat:agent:main:main', { kind: 'delta', text: 'hel' });
  await a.publish('chat:other', { kind: 'delta', text: 'not for b' });
  const big = { kind: 'final', text: 'x'.repeat(20_000) };
  await a.publish('chat:agent:main:main', big);
  await until(() => seenByB.length === 2, 'both events at b');
  assert.deepEqual(seenByB, [{ payload: { kind: 'delta', text: 'hel' }, from: 'node-a' }, { payload: big, from: 'node-a' }]);
  assert.deepEqual(seenByA, [], 'a node does not hear itself');
});

test('the listening connection comes back after the server drops it, and events flow again', async () => {
  const a = await bus('node-c');
  const b = await bus('node-d');
  const seen: unknown[] = [];
  b.subscribe('t', (payload) => seen.push(payload));
  const admin = database.pool(1);
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'");
  await until(() => !b.connected(), 'b to notice');
  await until(() => b.connected(), 'b to listen again');
  await a.publish('t', 'after the drop');
  await until(() => seen.includes('after the drop'), 'the event after reconnecting');
});

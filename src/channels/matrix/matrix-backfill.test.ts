import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeMatrixServer } from '../../../test/support/fake-matrix/fake-matrix-server.js';
import { matrixText } from '../../../test/support/platforms/matrix-harness.js';
import type { ChannelRunContext, InboundMessage } from '../../contracts/channel.js';
import { MATRIX_BACKFILL_MAX_EVENTS, readRoomGap } from './matrix-backfill.js';
import { createMatrixChannel } from './matrix-channel.js';

// ------------------------------------------------------------------ paging, against scripted pages

const event = (n: number, extra: Record<string, unknown> = {}) => ({ type: 'm.room.message', event_id: `$${n}`, sender: '@ada:example.org', content: { msgtype: 'm.text', body: `m${n}` }, ...extra });

/** A room of events 1..count whose pages go back from `t<count>` to `t0`, Synapse-style (`end` whenever the chunk is not empty). */
function scriptedRoom(count: number, extra: (n: number) => Record<string, unknown> = () => ({})) {
  const calls: { from: string; to: string; limit: number }[] = [];
  const readPage = async (query: { from: string; to: string; limit: number }) => {
    calls.push(query);
    const from = Math.min(count, Number(query.from.slice(1)));
    const next = Math.max(0, from - query.limit);
    const chunk = [];
    for (let n = from; n > next; n -= 1) chunk.push(event(n, extra(n)));
    return chunk.length > 0 ? { chunk, start: query.from, end: `t${next}` } : { chunk: [], start: query.from };
  };
  return { calls, readPage };
}

const ids = (events: unknown[]) => events.map((item) => (item as { event_id: string }).event_id);

test('matrix backfill: pages back until an empty page, oldest first, without events the timeline holds', async () => {
  const room = scriptedRoom(150);
  const gap = await readRoomGap(room.readPage, { from: 't150', to: 's9', known: new Set(['$150', '$149']) });
  assert.deepEqual(ids(gap.events), Array.from({ length: 148 }, (_, index) => `$${index + 1}`));
  assert.deepEqual([gap.dropped, gap.more], [0, false]);
  assert.deepEqual(
    room.calls.map((call) => [call.from, call.to, call.limit]),
    [
      ['t150', 's9', 100],
      ['t50', 's9', 100],
      ['t0', 's9', 100],
    ],
  );
});

test('matrix backfill: stops without an end, at an end that does not move, and at the bot\'s own join', async () => {
  const noEnd = await readRoomGap(async () => ({ chunk: [event(2), event(1)] }), { from: 'a', to: 'b', known: new Set() });
  assert.deepEqual(ids(noEnd.events), ['$1', '$2']);
  let calls = 0;
  const stuck = await readRoomGap(
    async () => {
      calls += 1;
      return { chunk: [event(calls)], end: 'a' };
    },
    { from: 'a', to: 'b', known: new Set() },
  );
  assert.deepEqual([ids(stuck.events), calls], [['$1'], 1]);
  const room = scriptedRoom(30, (n) => (n === 10 ? { type: 'm.room.member', state_key: '@bot:example.org', content: { membership: 'join' } } : {}));
  const joined = await readRoomGap(room.readPage, { from: 't30', to: 's1', known: new Set(), stopAt: (item) => (item as { type: string }).type === 'm.room.member' });
  assert.deepEqual(ids(joined.events), Array.from({ length: 20 }, (_, index) => `$${index + 11}`), 'nothing from before the join');
});

test('matrix backfill: past the cap the newest are kept and one more page counts what is dropped', async () => {
  const exact = await readRoomGap(scriptedRoom(300).readPage, { from: 't300', to: 's1', known: new Set(), max: 300 });
  assert.deepEqual([exact.events.length, exact.dropped, exact.more], [300, 0, false], 'a gap of exactly the cap drops nothing');
  const room = scriptedRoom(1250);
  const gap = await readRoomGap(room.readPage, { from: 't1250', to: 's1', known: new Set() });
  assert.equal(gap.events.length, MATRIX_BACKFILL_MAX_EVENTS);
  assert.deepEqual([ids(gap.events)[0], ids(gap.events).at(-1)], ['$251', '$1250'], 'the newest of the gap, oldest first');
  assert.deepEqual([gap.dropped, gap.more], [100, true], 'at least one more page was not read');
  assert.equal(room.calls.length, 11);
  const small = await readRoomGap(scriptedRoom(130).readPage, { from: 't130', to: 's1', known: new Set(), max: 100 });
  assert.deepEqual([small.events.length, small.dropped, small.more], [100, 30, true]);
});

// ------------------------------------------------------------------ the adapter, against the fake homeserver

const TOKEN = 'syt_YmFja2ZpbGw_FakeBackfillToken';

async function setUp() {
  const server = await startFakeMatrixServer();
  const bot = server.addUser('backfill', { accessToken: TOKEN, displayName: 'Backfill' });
  const ada = server.addUser('ada', { displayName: 'Ada' });
  const dm = server.createRoom({ members: [ada, bot] });
  server.setDirect(bot, { [ada]: [dm] });
  const cursors = new Map<string, string>();
  const warnings: { obj: object; msg: string }[] = [];
  const channel = createMatrixChannel({
    accountId: 'default',
    homeserverUrl: server.baseUrl,
    userId: bot,
    accessToken: TOKEN,
    invites: { dmPolicy: 'open', allowFrom: ['*'], groupPolicy: 'open', groups: [] },
    cursors: { read: async (key) => cursors.get(key) ?? null, write: async (key, value) => void cursors.set(key, value) },
    logger: { info: () => undefined, warn: (obj, msg) => warnings.push({ obj, msg: msg ?? '' }) },
    pollTimeoutMs: 200,
  });
  return { server, bot, ada, dm, cursors, warnings, channel };
}

/**
 * Runs the channel until `done` says so. Received messages are kept once per id, as the inbox's
 * idempotency keys do; `handed` lists every hand-over, repeats included. `failAt` makes the
 * n-th hand-over fail, as a crash before the message is stored would.
 */
async function runUntil(setup: Awaited<ReturnType<typeof setUp>>, stored: Map<string, InboundMessage>, done: () => boolean, options: { failAt?: number } = {}) {
  const controller = new AbortController();
  const handed: string[] = [];
  const context: ChannelRunContext = {
    signal: controller.signal,
    receive: async (message) => {
      handed.push(message.text);
      if (handed.length === options.failAt) throw new Error('the process died');
      if (!stored.has(message.messageId)) stored.set(message.messageId, message);
    },
    reject: () => undefined,
    connected: () => undefined,
    progress: () => undefined,
  };
  const run = setup.channel.run(context);
  const deadline = Date.now() + 20_000;
  let outcome: unknown = 'running';
  run.then(
    () => {
      outcome = 'resolved';
    },
    (error: unknown) => {
      outcome = error;
    },
  );
  while (outcome === 'running' && !done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  controller.abort();
  await run.catch(() => undefined);
  return { handed, outcome };
}

const texts = (stored: Map<string, InboundMessage>) => [...stored.values()].map((message) => message.text);
const numbered = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => `${prefix} ${from + index}`);

test('matrix adapter: after an outage a limited sync is read back to the saved token, in order, each message once; a failed hand-over repeats it', { timeout: 60_000 }, async () => {
  const setup = await setUp();
  const { server, ada, dm, cursors } = setup;
  try {
    server.post(dm, ada, matrixText('history before the first start'));
    const stored = new Map<string, InboundMessage>();
    await runUntil(setup, stored, () => cursors.size > 0);
    assert.deepEqual(texts(stored), [], 'the first sync is history');
    const saved = [...cursors.values()][0];

    for (const text of numbered('down', 1, 250)) server.post(dm, ada, matrixText(text));
    await runUntil(setup, stored, () => stored.size >= 250 && [...cursors.values()][0] !== saved);
    assert.deepEqual(texts(stored), numbered('down', 1, 250));
    const paging = server.messagesCalls.filter((call) => call.roomId === dm);
    assert.ok(paging.length >= 2, 'paged back with /messages');
    assert.ok(paging.every((call) => call.dir === 'b' && call.to === saved && call.limit === 100), 'back to the token the sync resumed from');
    assert.match(paging[0]?.from ?? '', /^t\d+-\d+$/u, 'from the timeline\'s prev_batch');
    assert.equal(paging.at(-1)?.end, null, 'until the homeserver had no more');

    // A failure half-way through the hand-over (a crash before the token is saved) repeats the batch; the ids keep each message once.
    const before = [...cursors.values()][0];
    for (const text of numbered('again', 1, 250)) server.post(dm, ada, matrixText(text));
    const crashed = await runUntil(setup, stored, () => false, { failAt: 120 });
    assert.match(String(crashed.outcome), /the process died/u);
    assert.equal([...cursors.values()][0], before, 'the token is not saved before the batch is stored');
    const resumed = await runUntil(setup, stored, () => stored.size >= 500 && [...cursors.values()][0] !== before);
    assert.deepEqual(resumed.handed.slice(0, 3), numbered('again', 1, 3), 'the repeated batch starts again from the gap\'s oldest');
    assert.deepEqual(texts(stored), [...numbered('down', 1, 250), ...numbered('again', 1, 250)]);
  } finally {
    await setup.server.close();
  }
});

test('matrix adapter: past the backfill cap the oldest of the gap are dropped with a warning and counted by the probe', { timeout: 60_000 }, async () => {
  const setup = await setUp();
  const { server, ada, dm, cursors, warnings, channel } = setup;
  try {
    const stored = new Map<string, InboundMessage>();
    await runUntil(setup, stored, () => cursors.size > 0);
    const saved = [...cursors.values()][0];
    const total = MATRIX_BACKFILL_MAX_EVENTS + 250;
    for (const text of numbered('flood', 1, total)) server.post(dm, ada, matrixText(text));
    await runUntil(setup, stored, () => [...cursors.values()][0] !== saved);
    // The sync's own timeline holds the newest 100; the cap holds the 1,000 before them.
    assert.deepEqual(texts(stored), numbered('flood', total - MATRIX_BACKFILL_MAX_EVENTS - 100 + 1, total));
    const warning = warnings.find((item) => /the newest 1000 of them were read back/u.test(item.msg));
    assert.ok(warning, 'a warning says what was dropped');
    assert.match(warning.msg, /the 100 or more oldest were not read or answered/u);
    const probe = await channel.probe?.(AbortSignal.timeout(5000));
    assert.equal(probe?.status, 'ok');
    assert.match(probe?.detail ?? '', /100 older event\(s\) in 1 room\(s\) .* were not read after an outage/u);
  } finally {
    await server.close();
  }
});

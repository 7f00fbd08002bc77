import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTextArena } from './text-arena.js';

test('texts read back exactly, ASCII and not, and a released one cannot be read', () => {
  const arena = createTextArena(1 << 20);
  const ascii = arena.store('{"role":"user","content":"plain"}')!;
  const other = arena.store('{"content":"ünïcödé ✓ 🔥"}')!;
  assert.equal(arena.read(ascii), '{"role":"user","content":"plain"}');
  assert.equal(arena.read(other), '{"content":"ünïcödé ✓ 🔥"}');
  assert.equal(ascii.byteLength, 33);
  arena.release(ascii);
  assert.throws(() => arena.read(ascii), /released/);
  assert.equal(arena.read(other), '{"content":"ünïcödé ✓ 🔥"}');
  arena.release(ascii);
  assert.equal(arena.stats().liveBytes, other.byteLength, 'releasing twice counts once');
  arena.clear();
  assert.throws(() => arena.read(other), /released/, 'nothing from before a clear reads');
  const after = arena.store('again')!;
  assert.equal(arena.read(after), 'again');
  assert.equal(arena.stats().liveBytes, 5);
});

test('when the top reaches the capacity, live texts move down over released ones and stay intact', () => {
  const capacity = 64 * 1024;
  const arena = createTextArena(capacity);
  const kept = new Map<string, ReturnType<typeof arena.store>>();
  // Ten times the capacity passes through, a third of it kept at any time.
  for (let index = 0; index < 400; index++) {
    const text = `${index}:`.padEnd(1500 + (index % 7) * 100, String.fromCharCode(97 + (index % 26)));
    const handle = arena.store(text);
    assert.ok(handle, `text ${index} stored`);
    kept.set(text, handle);
    if (kept.size > 12) {
      const [oldest, oldHandle] = kept.entries().next().value!;
      arena.release(oldHandle!);
      kept.delete(oldest);
    }
    for (const [expected, stored] of kept) assert.equal(arena.read(stored!), expected);
  }
  assert.ok(arena.stats().topBytes <= capacity);
});

test('the pages written follow the live texts, not the capacity', () => {
  const arena = createTextArena(64 * 1024 * 1024);
  let previous = arena.store('x'.repeat(50_000))!;
  for (let index = 0; index < 2000; index++) {
    const next = arena.store('x'.repeat(50_000))!;
    arena.release(previous);
    previous = next;
  }
  // 100 MB written through it, 50 kB live at a time: the top never passed the 1 MiB minimum span.
  assert.ok(arena.stats().topBytes <= 1024 * 1024, `top at ${arena.stats().topBytes}`);
  assert.equal(arena.read(previous), 'x'.repeat(50_000));
});

test('a text that cannot fit beside the live ones is refused, not written over them', () => {
  const arena = createTextArena(64 * 1024);
  const first = arena.store('a'.repeat(40_000))!;
  assert.equal(arena.store('b'.repeat(30_000)), undefined);
  // Nor one that would leave less than an eighth free, so a nearly full arena is not moved at every write.
  const second = arena.store('c'.repeat(20_000))!;
  arena.release(second);
  assert.equal(arena.store('d'.repeat(17_500)), undefined);
  assert.ok(arena.store('d'.repeat(17_000)), 'with an eighth left free, it compacts and fits');
  assert.equal(arena.read(first), 'a'.repeat(40_000));
  arena.release(first);
  assert.ok(arena.store('b'.repeat(30_000)));
});

test('clear gives the memory back to the operating system', () => {
  // In a child process with a full collection available, so RSS is this arena's alone.
  const script = `
    const { createTextArena } = await import(${JSON.stringify(fileURLToPath(new URL('./text-arena.js', import.meta.url)))});
    const rss = () => process.memoryUsage().rss / 1048576;
    const arena = createTextArena(64 * 1048576);
    const before = rss();
    for (let i = 0; i < 2000; i++) arena.store('x'.repeat(32 * 1024));
    const full = rss();
    arena.clear();
    for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
    console.log(JSON.stringify({ before, full, after: rss() }));`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const { before, full, after } = JSON.parse(out) as { before: number; full: number; after: number };
  assert.ok(full - before > 55, `64 MiB written: RSS ${before.toFixed(1)} → ${full.toFixed(1)} MiB`);
  assert.ok(after - before < 10, `after clear: RSS ${after.toFixed(1)} MiB against ${before.toFixed(1)} before`);
});

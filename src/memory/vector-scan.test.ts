import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createVectorScan } from './vector-scan.js';

/** Deterministic vectors with positive and negative components. */
function vectors(count: number, dimensions: number, seed = 1): Float32Array[] {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  return Array.from({ length: count }, () => Float32Array.from({ length: dimensions }, next));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let at = 0; at < a.length; at++) {
    dot += a[at]! * b[at]!;
    na += a[at]! * a[at]!;
    nb += b[at]! * b[at]!;
  }
  return dot / Math.sqrt(na * nb);
}

function exactNearest(all: Map<number, Float32Array>, query: Float32Array, k: number): number[] {
  return [...all]
    .map(([id, vector]) => ({ id, similarity: cosine(vector, query) }))
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, k)
    .map((entry) => entry.id);
}

test('the 8-bit scan finds the same nearest vectors as exact cosine, across growth of its memory', () => {
  // 100 dimensions (not a multiple of 16: padded) and 3,000 vectors: the memory grows several times.
  const all = new Map(vectors(3000, 100).map((vector, at) => [at + 1, vector] as const));
  const scan = createVectorScan(100);
  for (const [id, vector] of all) scan.put(id, vector);
  assert.equal(scan.size(), 3000);
  assert.ok(scan.bytes() >= 3000 * 112, `holds ${scan.bytes()} bytes`);
  for (const query of vectors(20, 100, 99)) {
    const exact = exactNearest(all, query, 5);
    const found = scan.nearest(query, 20);
    for (const id of exact) assert.ok(found.includes(id), `exact neighbour ${id} among the scan's 20 best`);
    assert.equal(found[0], exact[0], 'the best match first');
  }
});

test('replacing, removing and clearing vectors changes what the scan finds', () => {
  const [a, b, c, far] = vectors(4, 32, 7) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const scan = createVectorScan(32);
  scan.put(1, a);
  scan.put(2, b);
  scan.put(3, c);
  assert.equal(scan.nearest(b, 1)[0], 2);
  scan.put(2, far);
  assert.equal(scan.size(), 3, 'a replaced vector is not a second row');
  assert.equal(scan.nearest(far, 1)[0], 2);
  assert.notEqual(scan.nearest(b, 1)[0], 2);
  // Removing the first row moves the last into its place: both others stay findable by their own vectors.
  scan.remove(1);
  assert.equal(scan.has(1), false);
  assert.deepEqual(scan.nearest(c, 3).sort(), [2, 3]);
  assert.equal(scan.nearest(c, 1)[0], 3);
  assert.equal(scan.nearest(far, 1)[0], 2);
  scan.remove(42);
  assert.equal(scan.size(), 2, 'removing an unknown id does nothing');
  scan.clear();
  assert.equal(scan.size(), 0);
  assert.equal(scan.bytes(), 0, 'the memory is given back');
  assert.deepEqual(scan.nearest(c, 3), []);
  scan.put(5, c);
  assert.deepEqual(scan.nearest(c, 3), [5], 'usable again after clear');
});

test('a vector of the wrong size is refused with the sizes named', () => {
  const scan = createVectorScan(8);
  assert.throws(() => scan.put(1, new Float32Array(7)), /7 dimensions in a scan of 8/u);
  scan.put(1, new Float32Array(8).fill(1));
  assert.throws(() => scan.nearest(new Float32Array(9), 1), /9 dimensions in a scan of 8/u);
  assert.deepEqual(scan.nearest(new Float32Array(8).fill(1), 0), []);
});

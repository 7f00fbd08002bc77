/**
 * An 8-bit copy of the memory index's vectors, scanned with WebAssembly SIMD: the candidates of a
 * vector search in a few milliseconds at 100,000 chunks, where sqlite-vec's exact scan of the
 * 32-bit vectors takes ~45 ms on this machine. Each vector is scaled so its largest component is
 * ±127 and rounded; the dot products are exact integer sums, so the similarity it ranks by is off
 * the true cosine by less than 0.01, and the caller re-scores the best candidates exactly.
 *
 * The copy lives in one WebAssembly memory outside the V8 heap (about 400 bytes a vector at 384
 * dimensions), grown as vectors are added, given back to the operating system by `clear()`.
 */
export interface VectorScan {
  readonly dimensions: number;
  /** Adds a chunk's vector, or replaces the one it had. */
  put(id: number, vector: Float32Array): void;
  remove(id: number): void;
  has(id: number): boolean;
  /** The ids of the `k` vectors closest to `query` (cosine on the 8-bit copy), best first. */
  nearest(query: Float32Array, k: number): number[];
  /** Drops every vector and the memory. */
  clear(): void;
  size(): number;
  /** Bytes of memory the copy holds (its WebAssembly memory). */
  bytes(): number;
}

const PAGE = 65536;
const LANES = 16;

export function createVectorScan(dimensions: number): VectorScan {
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new Error(`a vector scan needs a positive number of dimensions, not ${dimensions}`);
  const stride = Math.ceil(dimensions / LANES) * LANES;
  // The query's bytes at 0, then one row of `stride` bytes a vector; the scan's sums go after the last row.
  const rowsAt = stride;
  const state = emptyState();

  const ensure = (rows: number) => {
    const needed = rowsAt + rows * stride + rows * 4 + LANES;
    if (state.memory && state.memory.buffer.byteLength >= needed) return;
    const memory = state.memory ?? new WebAssembly.Memory({ initial: 1 });
    const have = memory.buffer.byteLength;
    const want = Math.max(needed, have * 2);
    memory.grow(Math.ceil((want - have) / PAGE));
    state.memory = memory;
    state.scan ??= instantiateScan(memory);
    state.capacity = Math.floor((memory.buffer.byteLength - rowsAt - LANES) / (stride + 4));
    state.ids = grown(state.ids, state.capacity);
    state.scales = grownFloat(state.scales, state.capacity);
  };

  return {
    dimensions,
    put(id, vector) {
      if (vector.length !== dimensions) throw new Error(`a vector of ${vector.length} dimensions in a scan of ${dimensions}`);
      let slot = state.slots.get(id);
      if (slot === undefined) {
        ensure(state.count + 1);
        slot = state.count++;
        state.slots.set(id, slot);
        state.ids[slot] = id;
      }
      state.scales[slot] = quantize(vector, new Int8Array(state.memory!.buffer, rowsAt + slot * stride, stride));
    },
    remove(id) {
      const slot = state.slots.get(id);
      if (slot === undefined) return;
      state.slots.delete(id);
      const last = --state.count;
      if (slot === last) return;
      // The last row moves into the freed one, so the rows stay packed for the scan.
      const bytes = new Int8Array(state.memory!.buffer);
      bytes.copyWithin(rowsAt + slot * stride, rowsAt + last * stride, rowsAt + last * stride + stride);
      state.ids[slot] = state.ids[last]!;
      state.scales[slot] = state.scales[last]!;
      state.slots.set(state.ids[slot]!, slot);
    },
    has: (id) => state.slots.has(id),
    nearest(query, k) {
      if (state.count === 0 || k <= 0) return [];
      if (query.length !== dimensions) throw new Error(`a query of ${query.length} dimensions in a scan of ${dimensions}`);
      const buffer = state.memory!.buffer;
      quantize(query, new Int8Array(buffer, 0, stride));
      const sumsAt = rowsAt + state.count * stride;
      const aligned = sumsAt + ((4 - (sumsAt % 4)) % 4);
      state.scan!(0, rowsAt, state.count, stride, aligned);
      return best(new Int32Array(buffer, aligned, state.count), state.scales, state.ids, k);
    },
    clear() {
      Object.assign(state, emptyState());
    },
    size: () => state.count,
    bytes: () => state.memory?.buffer.byteLength ?? 0,
  };
}

function emptyState() {
  return {
    memory: null as WebAssembly.Memory | null,
    scan: null as ScanFunction | null,
    capacity: 0,
    count: 0,
    slots: new Map<number, number>(),
    ids: new Int32Array(0),
    scales: new Float32Array(0),
  };
}

function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(length);
  next.set(array.subarray(0, Math.min(array.length, length)));
  return next;
}

function grownFloat(array: Float32Array, length: number): Float32Array<ArrayBuffer> {
  const next = new Float32Array(length);
  next.set(array.subarray(0, Math.min(array.length, length)));
  return next;
}

/** Writes the vector scaled to ±127 into `into` (the padding zeroed); returns what turns its integer dot products into cosines. */
function quantize(vector: Float32Array, into: Int8Array): number {
  let largest = 0;
  let norm = 0;
  for (const value of vector) {
    largest = Math.max(largest, Math.abs(value));
    norm += value * value;
  }
  into.fill(0);
  if (largest === 0 || !Number.isFinite(largest)) return 0;
  const scale = 127 / largest;
  for (let at = 0; at < vector.length; at++) into[at] = Math.round(vector[at]! * scale);
  return 1 / scale / Math.sqrt(norm);
}

/** The ids of the `k` highest sums (each times its row's scale), best first: a bounded selection over every row. */
function best(sums: Int32Array, scales: Float32Array, ids: Int32Array, k: number): number[] {
  const top: { id: number; score: number }[] = [];
  let floor = -Infinity;
  for (let slot = 0; slot < sums.length; slot++) {
    const score = sums[slot]! * scales[slot]!;
    if (top.length === k && score <= floor) continue;
    let at = top.length === k ? k - 1 : top.length;
    if (top.length < k) top.push({ id: 0, score: 0 });
    while (at > 0 && top[at - 1]!.score < score) {
      top[at] = top[at - 1]!;
      at--;
    }
    top[at] = { id: ids[slot]!, score };
    if (top.length === k) floor = top[k - 1]!.score;
  }
  return top.map((entry) => entry.id);
}

type ScanFunction = (query: number, rows: number, count: number, stride: number, sums: number) => void;

function instantiateScan(memory: WebAssembly.Memory): ScanFunction {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(scanModule()), { env: { memory } });
  return instance.exports.scan as ScanFunction;
}

/**
 * The scan, as WebAssembly bytes (no toolchain needed to build it): for each of `count` rows of
 * `stride` signed bytes from `rows`, the dot product with the `stride` bytes at `query`, stored as
 * an i32 at `sums` + 4 × row. Sixteen bytes at a time: each half widened to 16 bits, multiplied and
 * summed in pairs into 32-bit lanes (`i32x4.dot_i16x8_s`), the four lanes added at the end of a row.
 */
export function scanModule(): Uint8Array<ArrayBuffer> {
  const local = { query: 0, rows: 1, count: 2, stride: 3, sums: 4, row: 5, offset: 6, pointer: 7, total: 8, a: 9, b: 10 };
  const get = (index: number) => [0x20, index];
  const set = (index: number) => [0x21, index];
  const simd = (opcode: number) => [0xfd, ...unsignedLeb(opcode)];
  const load = (base: number) => [...get(base), ...get(local.offset), 0x6a, 0xfd, 0x00, 0x00, 0x00];
  const widenedDot = (widen: number) => [...get(local.a), ...simd(widen), ...get(local.b), ...simd(widen), ...simd(0xba), ...simd(0xae)];
  const lane = (index: number) => [...get(local.total), ...simd(0x1b), index];
  const body = [
    ...vector([[3, 0x7f], [3, 0x7b]]),
    ...get(local.rows), ...set(local.pointer),
    0x02, 0x40, 0x03, 0x40,
    ...get(local.row), ...get(local.count), 0x4e, 0x0d, 1,
    0xfd, 0x0c, ...new Array<number>(16).fill(0), ...set(local.total),
    0x41, 0, ...set(local.offset),
    0x03, 0x40,
    ...load(local.pointer), ...set(local.a),
    ...load(local.query), ...set(local.b),
    ...get(local.total), ...widenedDot(0x87), ...widenedDot(0x88), ...set(local.total),
    ...get(local.offset), 0x41, 16, 0x6a, 0x22, local.offset, ...get(local.stride), 0x48, 0x0d, 0,
    0x0b,
    ...get(local.sums), ...get(local.row), 0x41, 2, 0x74, 0x6a,
    ...lane(0), ...lane(1), 0x6a, ...lane(2), 0x6a, ...lane(3), 0x6a,
    0x36, 0x02, 0x00,
    ...get(local.pointer), ...get(local.stride), 0x6a, ...set(local.pointer),
    ...get(local.row), 0x41, 1, 0x6a, ...set(local.row),
    0x0c, 0,
    0x0b, 0x0b, 0x0b,
  ];
  const name = (text: string) => [...unsignedLeb(text.length), ...Buffer.from(text)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vector([[0x60, ...vector([[0x7f], [0x7f], [0x7f], [0x7f], [0x7f]]), 0]])),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, 1]])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name('scan'), 0x00, 0]])),
    ...section(10, vector([[...unsignedLeb(body.length), ...body]])),
  ]);
}

function unsignedLeb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    bytes.push(rest ? byte | 0x80 : byte);
  } while (rest);
  return bytes;
}

function vector(items: readonly (readonly number[])[]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, bytes: readonly number[]): number[] {
  return [id, ...unsignedLeb(bytes.length), ...bytes];
}

import { createWorkerRequests, type WorkerRequests } from '../runtime/worker-requests.js';

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
  /**
   * `nearest`, scanned on a worker thread over the same (shared) memory, so the caller's thread
   * does other work meanwhile. One scan at a time; if the vectors change while it runs, or the
   * worker fails, the scan runs again on the caller's thread.
   */
  nearestAsync(query: Float32Array, k: number): Promise<number[]>;
  /** Drops every vector and the memory, and stops the worker. */
  clear(): void;
  size(): number;
  /** Bytes of memory the copy holds (its WebAssembly memory). */
  bytes(): number;
}

const PAGE = 65536;
const LANES = 16;
/** The most the copy may grow to (shared memory has a fixed maximum; only what is used is mapped): 2 GiB, ~5 million vectors of 384 dimensions. */
const MAX_PAGES = 32768;
/** A scan on the worker that takes longer than this is given up, and the worker with it. */
const WORKER_TIMEOUT_MS = 5000;

export function createVectorScan(dimensions: number): VectorScan {
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new Error(`a vector scan needs a positive number of dimensions, not ${dimensions}`);
  const stride = Math.ceil(dimensions / LANES) * LANES;
  // The query's bytes at 0, then one row of `stride` bytes a vector; the scan's sums go after the last row.
  const rowsAt = stride;
  const state = emptyState();

  const ensure = (rows: number) => {
    const needed = rowsAt + rows * stride + rows * 4 + LANES;
    if (state.memory && state.memory.buffer.byteLength >= needed) return;
    const memory = state.memory ?? new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const have = memory.buffer.byteLength;
    const want = Math.min(Math.max(needed, have * 2), MAX_PAGES * PAGE);
    if (want < needed) throw new Error(`the 8-bit vector copy is full at ${state.count} vectors of ${dimensions} dimensions`);
    memory.grow(Math.ceil((want - have) / PAGE));
    state.memory = memory;
    state.module ??= new WebAssembly.Module(scanModule());
    state.scan ??= (new WebAssembly.Instance(state.module, { env: { memory } }).exports.scan as ScanFunction);
    state.capacity = Math.floor((memory.buffer.byteLength - rowsAt - LANES) / (stride + 4));
    state.ids = grown(state.ids, state.capacity);
    state.scales = grownFloat(state.scales, state.capacity);
  };

  /** Writes the query into the memory; where the scan's sums go. */
  const prepare = (query: Float32Array): number => {
    if (query.length !== dimensions) throw new Error(`a query of ${query.length} dimensions in a scan of ${dimensions}`);
    quantize(query, new Int8Array(state.memory!.buffer, 0, stride));
    const sumsAt = rowsAt + state.count * stride;
    return sumsAt + ((4 - (sumsAt % 4)) % 4);
  };
  const ranked = (sums: number, k: number) => best(new Int32Array(state.memory!.buffer, sums, state.count), state.scales, state.ids, k);

  const nearestNow = (query: Float32Array, k: number): number[] => {
    if (state.count === 0 || k <= 0) return [];
    // Its query and sums take the place of a scan on the worker's: that one runs again.
    state.version += 1;
    const sums = prepare(query);
    state.scan!(0, rowsAt, state.count, stride, sums);
    return ranked(sums, k);
  };

  const nearestOnWorker = async (query: Float32Array, k: number): Promise<number[]> => {
    if (state.count === 0 || k <= 0) return [];
    const sums = prepare(query);
    const version = state.version;
    state.worker ??= createScanWorker(state.module!, state.memory!);
    try {
      await state.worker.request([0, rowsAt, state.count, stride, sums]);
    } catch {
      state.worker?.close();
      state.worker = null;
      return nearestNow(query, k);
    }
    return version === state.version ? ranked(sums, k) : nearestNow(query, k);
  };

  return {
    dimensions,
    put(id, vector) {
      if (vector.length !== dimensions) throw new Error(`a vector of ${vector.length} dimensions in a scan of ${dimensions}`);
      state.version += 1;
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
      state.version += 1;
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
    nearest: (query, k) => nearestNow(query, k),
    nearestAsync(query, k) {
      // Started at once when no scan is in flight, so the worker runs while the caller goes on.
      const start = () => {
        state.inFlight += 1;
        return nearestOnWorker(query, k).finally(() => {
          state.inFlight -= 1;
        });
      };
      const run = state.inFlight > 0 ? state.queue.then(start) : start();
      state.queue = run.catch(() => undefined);
      return run;
    },
    clear() {
      state.worker?.close();
      Object.assign(state, emptyState());
    },
    size: () => state.count,
    bytes: () => state.memory?.buffer.byteLength ?? 0,
  };
}

function emptyState() {
  return {
    memory: null as WebAssembly.Memory | null,
    module: null as WebAssembly.Module | null,
    scan: null as ScanFunction | null,
    worker: null as ScanWorker | null,
    queue: Promise.resolve() as Promise<unknown>,
    inFlight: 0,
    /** Counts changes to the rows (and scans on this thread), so a scan on the worker knows whether its memory changed under it. */
    version: 0,
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

const SCAN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { scan } = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
parentPort.on('message', ({ id, body }) => {
  scan(...body);
  parentPort.postMessage({ id, result: null });
});
`;

type ScanWorker = WorkerRequests<Parameters<ScanFunction>, null>;

/** A thread that runs the scan over the shared memory on request, each given up after `WORKER_TIMEOUT_MS`. */
function createScanWorker(module: WebAssembly.Module, memory: WebAssembly.Memory): ScanWorker {
  return createWorkerRequests(SCAN_WORKER, { module, memory }, { name: 'the vector scan thread', timeoutMs: WORKER_TIMEOUT_MS });
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
    // Imported memory: shared, at least one page, at most MAX_PAGES.
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x03, 1, ...unsignedLeb(MAX_PAGES)]])),
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

/**
 * Text kept outside the V8 heap, in one block of memory of a fixed capacity that is given back to
 * the operating system as a whole by `clear()`.
 *
 * Text kept on the heap for seconds is what the old generation grows by, and V8 lets the heap run
 * well past its live size between full collections. Buffers are no better for memory that must go
 * back after a burst: they come from malloc, whose freed pieces stay in the process. So the arena
 * is one WebAssembly memory (mapped by V8 itself, its pages touched only when written, unmapped
 * when dropped), filled from the bottom up; when the top reaches twice the live bytes (or the
 * capacity), the live texts are moved down over the released ones (a memmove of the live bytes,
 * once per as many bytes written). A text that would fill it past seven eighths is refused: the
 * caller keeps it itself. Texts are stored as Latin-1 when they are all ASCII (one byte a character, and the
 * cheapest decoding there is), otherwise as UTF-8.
 */
export interface TextArena {
  /** Copies `text` into the arena; undefined when it does not fit even after compaction. */
  store(text: string): ArenaText | undefined;
  /** The text a handle stands for (a new string each time). Throws for a released handle. */
  read(handle: ArenaText): string;
  /** Frees the handle's bytes for reuse. Releasing twice, or after `clear`, does nothing. */
  release(handle: ArenaText): void;
  /** Releases every handle and drops the memory; the next `store` maps a new block. */
  clear(): void;
  stats(): { capacityBytes: number; liveBytes: number; topBytes: number; mapped: boolean };
}

/** A stored text: where its bytes are. Opaque to callers. */
export interface ArenaText {
  readonly byteLength: number;
}

interface Slot extends ArenaText {
  /** The block it was stored in: a handle from before a `clear` no longer reads. */
  readonly block: Block;
  offset: number;
  readonly byteLength: number;
  readonly latin1: boolean;
  released: boolean;
}

const WASM_PAGE_BYTES = 64 * 1024;
/** The top may always reach this far before the live texts are moved down. */
const MIN_SPAN_BYTES = 1024 * 1024;

interface Block {
  readonly memory: WebAssembly.Memory;
  readonly bytes: Buffer;
  /** Stored slots in address order (released ones are dropped at the next compaction). */
  slots: Slot[];
  top: number;
  live: number;
}

function mapBlock(capacityBytes: number): Block {
  const pages = Math.max(1, Math.ceil(capacityBytes / WASM_PAGE_BYTES));
  // Initial equals maximum: the memory never grows, so its buffer is never detached.
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  return { memory, bytes: Buffer.from(memory.buffer), slots: [], top: 0, live: 0 };
}

/** Moves the live texts down over the released ones, in address order. */
function compact(block: Block): void {
  let to = 0;
  const kept: Slot[] = [];
  for (const slot of block.slots) {
    if (slot.released) continue;
    if (slot.offset !== to) block.bytes.copyWithin(to, slot.offset, slot.offset + slot.byteLength);
    slot.offset = to;
    to += slot.byteLength;
    kept.push(slot);
  }
  block.slots = kept;
  block.top = to;
}

export function createTextArena(capacityBytes: number): TextArena {
  const capacity = Math.max(WASM_PAGE_BYTES, Math.ceil(capacityBytes / WASM_PAGE_BYTES) * WASM_PAGE_BYTES);
  let block: Block | undefined;
  const isLive = (slot: Slot): slot is Slot => block !== undefined && slot.block === block && !slot.released;

  const room = (current: Block, byteLength: number): boolean => {
    // The top stays within twice the live bytes, so the pages written (RSS until `clear`) follow
    // what is kept, not the capacity; each move of the live texts is paid for by as many bytes
    // written since.
    const span = Math.min(capacity, Math.max(MIN_SPAN_BYTES, 2 * (current.live + byteLength)));
    if (current.top + byteLength <= span) return true;
    // Nor moved at every write of a nearly full arena: a text that would leave less than an eighth free is refused.
    if (current.live + byteLength > capacity - capacity / 8) return false;
    compact(current);
    return true;
  };

  return {
    store(text) {
      const latin1 = Buffer.byteLength(text, 'utf8') === text.length;
      const byteLength = latin1 ? text.length : Buffer.byteLength(text, 'utf8');
      block ??= mapBlock(capacity);
      if (!room(block, byteLength)) return undefined;
      const slot: Slot = { block, offset: block.top, byteLength, latin1, released: false };
      block.bytes.write(text, slot.offset, byteLength, latin1 ? 'latin1' : 'utf8');
      block.slots.push(slot);
      block.top += byteLength;
      block.live += byteLength;
      return slot;
    },
    read(handle) {
      const slot = handle as Slot;
      if (!isLive(slot)) throw new Error('This text was released from the arena.');
      return slot.block.bytes.toString(slot.latin1 ? 'latin1' : 'utf8', slot.offset, slot.offset + slot.byteLength);
    },
    release(handle) {
      const slot = handle as Slot;
      if (!isLive(slot)) return;
      slot.released = true;
      slot.block.live -= slot.byteLength;
    },
    clear() {
      block = undefined;
    },
    stats: () => ({ capacityBytes: capacity, liveBytes: block?.live ?? 0, topBytes: block?.top ?? 0, mapped: block !== undefined }),
  };
}

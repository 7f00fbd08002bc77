/** A piece of a memory file, with the lines it came from (1-based, inclusive). */
export interface MemoryChunk {
  startLine: number;
  endLine: number;
  text: string;
}

export interface ChunkOptions {
  /** Size of a chunk, in estimated tokens (four characters a token). Default 400. */
  maxTokens?: number;
  /** How much of the previous chunk the next one repeats, in estimated tokens. Default 80. */
  overlapTokens?: number;
}

const CHARS_PER_TOKEN = 4;

/**
 * Splits a Markdown text into chunks of about `maxTokens`, cut at line ends, each repeating the
 * last `overlapTokens` of the one before so a fact that straddles a cut is found whole in one of
 * them. A line longer than a chunk is cut inside the line (its chunks share its line number).
 * Blank-only texts give no chunk.
 */
export function chunkMarkdown(text: string, options: ChunkOptions = {}): MemoryChunk[] {
  const maxChars = Math.max(1, (options.maxTokens ?? 400) * CHARS_PER_TOKEN);
  const overlapChars = Math.min(Math.max(0, (options.overlapTokens ?? 80) * CHARS_PER_TOKEN), Math.floor(maxChars / 2));
  const pieces = linePieces(text, maxChars);
  const chunks: MemoryChunk[] = [];
  let start = 0;
  while (start < pieces.length) {
    let end = start;
    let size = 0;
    while (end < pieces.length && (end === start || size + pieces[end]!.text.length + 1 <= maxChars)) {
      size += pieces[end]!.text.length + 1;
      end++;
    }
    const slice = pieces.slice(start, end);
    const body = slice.map((piece) => piece.text).join('\n');
    if (body.trim() !== '') chunks.push({ startLine: slice[0]!.line, endLine: slice.at(-1)!.line, text: body });
    if (end >= pieces.length) break;
    start = Math.max(start + 1, overlapStart(pieces, start, end, overlapChars));
  }
  return chunks;
}

interface LinePiece {
  line: number;
  text: string;
}

/** The text's lines (1-based), with lines longer than `maxChars` cut into pieces of that size. */
function linePieces(text: string, maxChars: number): LinePiece[] {
  const pieces: LinePiece[] = [];
  const lines = text.replace(/\r\n?/gu, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    if (line.length <= maxChars) pieces.push({ line: index + 1, text: line });
    else for (let at = 0; at < line.length; at += maxChars) pieces.push({ line: index + 1, text: line.slice(at, at + maxChars) });
  });
  return pieces;
}

/** Where the next chunk starts: as far back from `end` as `overlapChars` of whole pieces reach. */
function overlapStart(pieces: LinePiece[], start: number, end: number, overlapChars: number): number {
  let next = end;
  let size = 0;
  while (next > start + 1 && size + pieces[next - 1]!.text.length + 1 <= overlapChars) {
    size += pieces[next - 1]!.text.length + 1;
    next--;
  }
  return next;
}

/** Turns a complete piece of Markdown into text for the terminal. */
export type MarkdownRenderer = (markdown: string) => string;

/**
 * Loads `marked` with `marked-terminal` (headings, emphasis, code with highlighting, lists,
 * tables, links). Loading takes a noticeable fraction of a second, so the chat starts it in the
 * background and the CLI's start-up does not pay for it. Rejects when the packages cannot load.
 */
export async function loadTerminalRenderer(width: number): Promise<MarkdownRenderer> {
  const [{ Marked }, { markedTerminal }] = await Promise.all([import('marked'), import('marked-terminal')]);
  const marked = new Marked(markedTerminal({ reflowText: true, width: Math.max(40, Math.min(width, 120)), showSectionPrefix: false, tab: 2 }));
  // marked-terminal prints the text of a tight list item as written (`**bold**` stays); render its inline tokens.
  marked.use({
    renderer: {
      text(token) {
        return 'tokens' in token && token.tokens ? this.parser.parseInline(token.tokens) : false;
      },
    },
  });
  return (markdown) => marked.parse(markdown, { async: false });
}

/**
 * The end of the last complete block in streamed Markdown: just after a blank line that is not
 * inside a fenced code block. 0 when no block is complete yet.
 */
export function completeBlocksEnd(text: string): number {
  let inFence = false;
  let end = 0;
  let offset = 0;
  let sawContent = false;
  for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', offset)) {
    const line = text.slice(offset, newline);
    offset = newline + 1;
    if (/^\s{0,3}(```|~~~)/.test(line)) inFence = !inFence;
    if (line.trim() === '') {
      if (!inFence && sawContent) end = offset;
    } else sawContent = true;
  }
  return end;
}

/**
 * Renders a reply that arrives in pieces: each block (paragraph, list, code block, table) is
 * rendered and written once it is complete, the rest at `end()`. Writes happen in order, after
 * the renderer has loaded.
 */
export function createMarkdownStream(renderer: Promise<MarkdownRenderer>, write: (text: string) => void) {
  let buffer = '';
  let chain: Promise<void> = Promise.resolve();
  const emit = (markdown: string, last: boolean) => {
    chain = chain.then(async () => {
      const render = await renderer;
      const text = render(markdown).replace(/\s+$/, '');
      if (text !== '') write(`${text}\n${last ? '' : '\n'}`);
    });
  };
  return {
    push(text: string) {
      buffer += text;
      const end = completeBlocksEnd(buffer);
      if (end === 0) return;
      emit(buffer.slice(0, end), false);
      buffer = buffer.slice(end);
    },
    /** Renders what is left; resolves when everything has been written. */
    end(): Promise<void> {
      if (buffer.trim() !== '') emit(buffer, true);
      buffer = '';
      return chain;
    },
  };
}

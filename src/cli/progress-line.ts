import type { CliIo } from './cli-context.js';

const CLEAR_LINE = '\r\u001b[2K';

/** One terminal line rewritten in place for progress; `clear()` removes it before the real output. */
export function createProgressLine(io: CliIo) {
  let shown = false;
  return {
    show(text: string): void {
      io.out(`${CLEAR_LINE}${text}`);
      shown = true;
    },
    clear(): void {
      if (shown) io.out(CLEAR_LINE);
      shown = false;
    },
  };
}

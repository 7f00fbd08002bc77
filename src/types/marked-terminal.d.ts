/** Minimal typings for `marked-terminal` 7 (the package ships none): only the extension factory Hearth uses. */
declare module 'marked-terminal' {
  import type { MarkedExtension } from 'marked';

  /** A `marked` extension that renders Markdown as text for a terminal (ANSI styles, reflow, tables). */
  export function markedTerminal(options?: Record<string, unknown>, highlightOptions?: Record<string, unknown>): MarkedExtension;
}

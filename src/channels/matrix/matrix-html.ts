import { markdownToTelegramHtml } from '../markdown.js';

/**
 * Markdown → the `org.matrix.custom.html` of a message's `formatted_body`. Telegram's converter
 * already yields escaped, balanced HTML with only tags Matrix allows (b, i, s, a, code, pre,
 * blockquote); Matrix clients render it as HTML, so line breaks outside code blocks become <br>.
 */
export function markdownToMatrixHtml(markdown: string): string {
  return markdownToTelegramHtml(markdown)
    .split(/(<pre>[\s\S]*?<\/pre>)/u)
    // A block element breaks the line itself: the newlines next to one are dropped.
    .map((part, index, parts) => {
      if (part.startsWith('<pre>')) return part;
      let text = part;
      if (index > 0) text = text.replace(/^\n/u, '');
      if (index < parts.length - 1) text = text.replace(/\n$/u, '');
      return text.replace(/\n/gu, '<br>');
    })
    .join('');
}

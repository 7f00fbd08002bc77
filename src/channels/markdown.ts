/**
 * Converts the agent's Markdown into what each platform renders. The converters are line based
 * and conservative: anything they do not recognise stays as text, and the output is always
 * well-formed for the platform (Telegram rejects a message with broken HTML).
 */

interface Block {
  kind: 'code' | 'text';
  /** For code: the language after the fence; for text: unused. */
  language: string;
  lines: string[];
}

/** Splits Markdown into fenced code blocks and the text between them. */
function splitBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let current: Block = { kind: 'text', language: '', lines: [] };
  let fence = '';
  for (const line of markdown.split('\n')) {
    const match = /^[ \t]{0,3}(`{3,}|~{3,})\s*([^\s`]*)/u.exec(line);
    if (current.kind === 'text' && match) {
      if (current.lines.length > 0) blocks.push(current);
      fence = match[1] ?? '```';
      current = { kind: 'code', language: match[2] ?? '', lines: [] };
    } else if (current.kind === 'code' && match && (match[1] ?? '').startsWith(fence) && line.trim() === match[1]) {
      blocks.push(current);
      current = { kind: 'text', language: '', lines: [] };
    } else {
      current.lines.push(line);
    }
  }
  if (current.kind === 'code' || current.lines.length > 0) blocks.push(current);
  return blocks;
}

function escapeHtml(text: string): string {
  return text.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');
}

/** Applies inline rules to text outside `code spans`; code spans go through `code`. */
function mapInline(line: string, code: (text: string) => string, rest: (text: string) => string): string {
  let output = '';
  let index = 0;
  const pattern = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/gu;
  for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
    output += rest(line.slice(index, match.index)) + code(match[2] ?? '');
    index = match.index + match[0].length;
  }
  return output + rest(line.slice(index));
}

const SAFE_URL = /^(https?:\/\/|mailto:|tg:\/\/)/iu;

/** True when every tag opened in `html` is closed in order (Telegram refuses anything else). */
function balanced(html: string): boolean {
  const stack: string[] = [];
  const pattern = /<(\/?)([a-z-]+)[^>]*>/gu;
  for (let match = pattern.exec(html); match !== null; match = pattern.exec(html)) {
    const name = match[2] ?? '';
    if (match[1] === '') stack.push(name);
    else if (stack.pop() !== name) return false;
  }
  return stack.length === 0;
}

function telegramInline(text: string): string {
  let html = escapeHtml(text);
  html = html.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/gu, (whole, label: string, url: string) =>
    SAFE_URL.test(url) ? `<a href="${url.replace(/"/gu, '&quot;')}">${label}</a>` : whole,
  );
  html = html.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/gu, '<b>$1</b>').replace(/__(?=\S)([\s\S]*?\S)__/gu, '<b>$1</b>');
  html = html.replace(/~~(?=\S)([\s\S]*?\S)~~/gu, '<s>$1</s>');
  html = html.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/gu, '$1<i>$2</i>');
  html = html.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/gu, '$1<i>$2</i>');
  return html;
}

/** Telegram Bot API HTML (`parse_mode: "HTML"`). */
export function markdownToTelegramHtml(markdown: string): string {
  const out: string[] = [];
  for (const block of splitBlocks(markdown)) {
    if (block.kind === 'code') {
      const language = /^[\w+#.-]{1,32}$/u.test(block.language) ? ` class="language-${block.language}"` : '';
      out.push(`<pre><code${language}>${escapeHtml(block.lines.join('\n'))}</code></pre>`);
      continue;
    }
    let quote: string[] = [];
    const flushQuote = () => {
      if (quote.length > 0) out.push(`<blockquote>${quote.join('\n')}</blockquote>`);
      quote = [];
    };
    for (const raw of block.lines) {
      const inline = (text: string) => {
        const html = mapInline(text, (code) => `<code>${escapeHtml(code)}</code>`, telegramInline);
        return balanced(html) ? html : escapeHtml(text);
      };
      const quoted = /^\s{0,3}>\s?(.*)$/u.exec(raw);
      if (quoted) {
        quote.push(inline(quoted[1] ?? ''));
        continue;
      }
      flushQuote();
      const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/u.exec(raw);
      const bullet = /^(\s*)[-*+]\s+(.*)$/u.exec(raw);
      if (heading) out.push(`<b>${inline(heading[1] ?? '')}</b>`);
      else if (bullet) out.push(`${bullet[1] ?? ''}• ${inline(bullet[2] ?? '')}`);
      else if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/u.test(raw)) out.push('———');
      else out.push(inline(raw));
    }
    flushQuote();
  }
  return out.join('\n');
}

function slackInline(text: string): string {
  let out = text.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');
  out = out.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/gu, (whole, label: string, url: string) => (SAFE_URL.test(url) ? `<${url}|${label}>` : whole));
  // Bold first, through a placeholder, so its asterisks are not read as italics afterwards.
  out = out.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/gu, '\u0001$1\u0001').replace(/__(?=\S)([\s\S]*?\S)__/gu, '\u0001$1\u0001');
  out = out.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/gu, '$1_$2_');
  out = out.replace(/~~(?=\S)([\s\S]*?\S)~~/gu, '~$1~');
  return out.replace(/\u0001/gu, '*');
}

/** Slack `mrkdwn`. */
export function markdownToSlackMrkdwn(markdown: string): string {
  const out: string[] = [];
  for (const block of splitBlocks(markdown)) {
    if (block.kind === 'code') {
      out.push(`\`\`\`\n${block.lines.join('\n').replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;')}\n\`\`\``);
      continue;
    }
    for (const raw of block.lines) {
      const inline = (text: string) => mapInline(text, (code) => `\`${code.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;')}\``, slackInline);
      const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/u.exec(raw);
      const bullet = /^(\s*)[-*+]\s+(.*)$/u.exec(raw);
      const quoted = /^\s{0,3}>\s?(.*)$/u.exec(raw);
      if (heading) out.push(`*${inline(heading[1] ?? '')}*`);
      else if (bullet) out.push(`${bullet[1] ?? ''}• ${inline(bullet[2] ?? '')}`);
      else if (quoted) out.push(`&gt; ${inline(quoted[1] ?? '')}`);
      else out.push(inline(raw));
    }
  }
  return out.join('\n');
}

/** Plain text for platforms without formatting (IRC): markers removed, links as "label (url)". */
export function markdownToPlainText(markdown: string): string {
  const out: string[] = [];
  for (const block of splitBlocks(markdown)) {
    if (block.kind === 'code') {
      out.push(...block.lines);
      continue;
    }
    for (const raw of block.lines) {
      const plain = (text: string) =>
        text
          .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/gu, '$1 ($2)')
          .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/gu, '$1')
          .replace(/__(?=\S)([\s\S]*?\S)__/gu, '$1')
          .replace(/~~(?=\S)([\s\S]*?\S)~~/gu, '$1')
          .replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/gu, '$1$2');
      const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/u.exec(raw);
      const bullet = /^(\s*)[-*+]\s+(.*)$/u.exec(raw);
      if (heading) out.push(mapInline(heading[1] ?? '', (code) => code, plain));
      else if (bullet) out.push(`${bullet[1] ?? ''}- ${mapInline(bullet[2] ?? '', (code) => code, plain)}`);
      else out.push(mapInline(raw, (code) => code, plain));
    }
  }
  return out.join('\n');
}

function whatsappInline(text: string): string {
  let out = text.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/gu, (whole, label: string, url: string) => (SAFE_URL.test(url) ? (label === url ? url : `${label} (${url})`) : whole));
  // Bold first, through a placeholder, so its asterisks are not read as italics afterwards.
  out = out.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/gu, '\u0001$1\u0001').replace(/__(?=\S)([\s\S]*?\S)__/gu, '\u0001$1\u0001');
  out = out.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/gu, '$1_$2_');
  out = out.replace(/~~(?=\S)([\s\S]*?\S)~~/gu, '~$1~');
  return out.replace(/\u0001/gu, '*');
}

/**
 * WhatsApp's own markup: `*bold*`, `_italic_`, `~strike~`, `` `code` ``, fenced ``` blocks,
 * `> quotes` and `- ` lists; headings become bold lines, links "label (url)".
 */
export function markdownToWhatsApp(markdown: string): string {
  const out: string[] = [];
  for (const block of splitBlocks(markdown)) {
    if (block.kind === 'code') {
      out.push(`\`\`\`\n${block.lines.join('\n')}\n\`\`\``);
      continue;
    }
    for (const raw of block.lines) {
      const inline = (text: string) => mapInline(text, (code) => `\`${code}\``, whatsappInline);
      const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/u.exec(raw);
      const bullet = /^(\s*)[-*+]\s+(.*)$/u.exec(raw);
      const quoted = /^\s{0,3}>\s?(.*)$/u.exec(raw);
      if (heading) out.push(`*${inline(heading[1] ?? '')}*`);
      else if (bullet) out.push(`${bullet[1] ?? ''}- ${inline(bullet[2] ?? '')}`);
      else if (quoted) out.push(`> ${inline(quoted[1] ?? '')}`);
      else if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/u.test(raw)) out.push('———');
      else out.push(inline(raw));
    }
  }
  return out.join('\n');
}

/**
 * Model replies as Markdown (CommonMark + GFM) turned into safe DOM: raw HTML in the reply is shown
 * as text, the result is sanitized again by DOMPurify, links open in a new tab without an opener
 * or referrer, images become links (the page's CSP would refuse remote images), and code blocks
 * are highlighted with classes only (the CSP refuses inline styles).
 */
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { Marked } from 'marked';

/** Turns Markdown into a sanitized fragment; never throws on odd input. */
export interface MarkdownRenderer {
  render(markdown: string): DocumentFragment;
}

const LANGUAGES = { bash, css, diff, javascript, json, python, sql, typescript, xml, yaml } as const;
const ALIASES: Record<string, string[]> = { bash: ['sh', 'shell', 'zsh', 'console'], javascript: ['js', 'jsx', 'mjs'], typescript: ['ts', 'tsx'], xml: ['html', 'svg'], yaml: ['yml'], python: ['py'] };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/gu, (char) => `&#${char.charCodeAt(0)};`);
}

function createHighlighter() {
  const highlighter = hljs.newInstance();
  for (const [name, language] of Object.entries(LANGUAGES)) {
    highlighter.registerLanguage(name, language);
    const aliases = ALIASES[name];
    if (aliases) highlighter.registerAliases(aliases, { languageName: name });
  }
  return (code: string, lang: string | undefined): string => {
    const name = (lang ?? '').trim().split(/\s/u)[0]?.toLowerCase() ?? '';
    if (name && highlighter.getLanguage(name)) return highlighter.highlight(code, { language: name, ignoreIllegals: true }).value;
    return escapeHtml(code);
  };
}

function createMarked(highlight: (code: string, lang: string | undefined) => string): Marked {
  return new Marked({
    gfm: true,
    breaks: false,
    renderer: {
      // Raw HTML from the model is shown as the text it is, never as markup.
      html: ({ text, block }) => (block ? `<p class="raw-html">${escapeHtml(text)}</p>` : escapeHtml(text)),
      image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
      code: ({ text, lang }) => {
        const name = (lang ?? '').trim().split(/\s/u)[0] ?? '';
        const label = name ? `<span class="code-lang">${escapeHtml(name)}</span>` : '';
        return `<div class="codeblock">${label}<pre><code class="hljs${name ? ` language-${escapeHtml(name)}` : ''}">${highlight(text, name)}</code></pre></div>`;
      },
    },
  });
}

/** A renderer with its own Markdown parser, highlighter and sanitizer (nothing shared between copies). */
export function createMarkdownRenderer(): MarkdownRenderer {
  const marked = createMarked(createHighlighter());
  const purify = DOMPurify(window);
  const config = {
    RETURN_DOM_FRAGMENT: true as const,
    FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'iframe', 'video', 'audio', 'source', 'picture'],
    FORBID_ATTR: ['style', 'id', 'name', 'srcset'],
  };
  return {
    render(markdown) {
      let html: string;
      try {
        html = marked.parse(markdown, { async: false });
      } catch {
        html = `<p>${escapeHtml(markdown)}</p>`;
      }
      const fragment = purify.sanitize(html, config);
      for (const link of fragment.querySelectorAll('a')) {
        link.setAttribute('target', '_blank');
        link.setAttribute('rel', 'noopener noreferrer');
      }
      for (const table of fragment.querySelectorAll('table')) {
        const wrap = document.createElement('div');
        wrap.className = 'table-wrap';
        wrap.tabIndex = 0;
        table.replaceWith(wrap);
        wrap.append(table);
      }
      return fragment;
    },
  };
}

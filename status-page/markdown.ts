import { createRequire } from 'node:module';
import type { MarkdownIt } from 'markdown-it';

let markdown: MarkdownIt | undefined;

/** The HTML of an update's text; the only HTML a status-page template prints unescaped. markdown-it is loaded with the
 * first update rendered: a page without incidents or maintenances never needs it (markdown-it and its URL helpers, 20
 * modules and about 0.6 MiB of heap kept in every idle process). */
export function renderMarkdown(text: string): string {
  markdown ??= updatesMarkdown(createRequire(import.meta.url)('markdown-it') as typeof MarkdownIt);
  return markdown.render(text);
}

// Updates from admins and alerts are a small Markdown subset: emphasis, links, lists, paragraphs. Raw HTML is
// off, and markdown-it's link validation refuses javascript:, vbscript:, file: and data: URLs.
function updatesMarkdown(Markdown: typeof MarkdownIt): MarkdownIt {
  return new Markdown({ html: false, linkify: false, typographer: false, breaks: true }).disable([
    'image',
    'table',
    'heading',
    'lheading',
    'code',
    'fence',
    'hr',
    'html_block',
    'html_inline',
  ]);
}

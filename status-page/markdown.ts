import MarkdownIt from 'markdown-it';

// Updates from admins and alerts are a small Markdown subset: emphasis, links, lists, paragraphs. Raw HTML is
// off, and markdown-it's link validation refuses javascript:, vbscript:, file: and data: URLs.
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true }).disable([
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

/** The HTML of an update's text; the only HTML a status-page template prints unescaped. */
export function renderMarkdown(text: string): string {
  return markdown.render(text);
}

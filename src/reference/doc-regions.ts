/**
 * Generated regions inside hand-written Markdown: the text between
 * `<!-- generated:<name>:start -->` and `<!-- generated:<name>:end -->` belongs to `npm run docs`;
 * everything around it is prose that stays as written.
 */
export function replaceRegion(text: string, file: string, name: string, content: string): string {
  const start = `<!-- generated:${name}:start -->`;
  const end = `<!-- generated:${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new Error(`${file} has no generated region "${name}": put ${start} and ${end} on their own lines where the reference goes, then run npm run docs.`);
  }
  const notice = '<!-- Written by `npm run docs` from the code; edit the code, not this region. -->';
  return `${text.slice(0, from)}${start}\n${notice}\n\n${content.trimEnd()}\n\n${text.slice(to)}`;
}

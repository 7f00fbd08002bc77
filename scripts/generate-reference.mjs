// Writes the generated reference regions of docs/cli.md, docs/api.md, docs/config.md and
// README.md from the compiled code (commander's program, the WS RPC method table, the config
// schema). Usage: npm run docs (compiles first). The test src/reference/reference-docs.test.ts
// fails when these files differ from what this would write.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { referenceDocs } = await import(join(root, 'dist/src/reference/reference-docs.js'));
const { files, undocumented } = await referenceDocs(root);
for (const file of files) {
  if (file.current === file.expected) continue;
  await writeFile(join(root, file.path), file.expected);
  console.log(`updated ${file.path}`);
}
if (undocumented.length > 0) {
  console.error('These have no description, so the reference shows them blank:');
  for (const line of undocumented) console.error(`  ${line}`);
  process.exitCode = 1;
} else {
  console.log('references are up to date');
}

// Runs every compiled test file with Node's test runner. Usage: node scripts/run-tests.mjs [filter]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['dist/src', 'dist/test'];
const filter = process.argv[2];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js') && (!filter || path.includes(filter))) files.push(path);
  }
}
for (const root of roots) walk(root);
files.sort();
if (files.length === 0) {
  console.error('No test files found. Run `npm run build` first.');
  process.exit(1);
}
// The bound applies to each test and to each file's whole run: the update files run four
// 10-60 s updates each, which took over 120 s on a loaded 2-core machine although every test passed.
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);

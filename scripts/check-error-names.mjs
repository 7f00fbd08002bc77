// Fails when an Error subclass in src/ does not set its own `name`. The bundle minifies class
// names, so logs type an error by its `name` (observability/logger.ts, serializeError): without
// one, its log lines would say "Error" and nothing of what failed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const declaration = /^export class (\w+) extends Error \{/gmu;
const problems = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) check(path, readFileSync(path, 'utf8'));
  }
}
function check(path, text) {
  for (const match of text.matchAll(declaration)) {
    const body = text.slice(match.index, text.indexOf('\n}', match.index));
    if (!/\bname = '/u.test(body)) problems.push(`${path}: class ${match[1]} (add: override readonly name = '${match[1]}';)`);
  }
}
walk('src');
if (problems.length > 0) {
  console.error('Error classes without their own name (their log lines would be typed "Error"):');
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}

// Fails when modules in src/ import each other in a cycle (value imports, static or `import()`;
// `import type` does not count). A cycle means a module can be used before it finished loading,
// and that two modules cannot be understood or loaded one without the other.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const graph = new Map();
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) graph.set(path, importsOf(path));
  }
}

function importsOf(path) {
  const text = readFileSync(path, 'utf8');
  const found = [];
  const statement = /^(import|export)\s+(type\s+)?(\{[^}]*\}|\*\s+as\s+\w+|\w+(\s*,\s*\{[^}]*\})?)?\s*(from\s+)?'(\.[^']+)';/gmu;
  for (const match of text.matchAll(statement)) {
    if (match[2]) continue;
    const names = match[3] ?? '';
    if (names.startsWith('{') && names.slice(1, -1).split(',').every((item) => item.trim() === '' || item.trim().startsWith('type '))) continue;
    found.push(normalize(join(dirname(path), match[6].replace(/\.js$/u, '.ts'))));
  }
  for (const match of text.matchAll(/\bimport\('(\.[^']+)'\)/gu)) found.push(normalize(join(dirname(path), match[1].replace(/\.js$/u, '.ts'))));
  return found;
}

walk('src');
const state = new Map();
const cycles = new Set();
function visit(path, stack) {
  state.set(path, 'open');
  stack.push(path);
  for (const next of graph.get(path) ?? []) {
    if (!graph.has(next)) continue;
    if (state.get(next) === 'open') cycles.add([...stack.slice(stack.indexOf(next)), next].join(' -> '));
    else if (!state.has(next)) visit(next, stack);
  }
  stack.pop();
  state.set(path, 'done');
}
for (const path of [...graph.keys()].sort()) if (!state.has(path)) visit(path, []);
if (cycles.size > 0) {
  console.error('Import cycles in src/ (move what both sides need into a module of its own):');
  for (const cycle of cycles) console.error(`  ${cycle}`);
  process.exit(1);
}

// Fails when src/ holds module-level mutable state: a top-level `let`, or a top-level Map/Set.
// Registries, caches and timers belong to objects built in main.ts (see CONVENTIONS.md).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const pattern = /^(export )?let |^(export )?(const|let) [A-Za-z_$][A-Za-z0-9_$]*(: [^=]+)? = new (Map|Set|WeakMap)\b/;
const problems = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
      readFileSync(path, 'utf8').split('\n').forEach((line, index) => {
        if (pattern.test(line)) problems.push(`${path}:${index + 1}: ${line.trim()}`);
      });
    }
  }
}
walk('src');
if (problems.length > 0) {
  console.error('Module-level mutable state in src/ (move it onto an object built in main.ts):');
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}

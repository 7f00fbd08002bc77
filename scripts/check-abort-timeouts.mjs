// Fails when code in src/ joins AbortSignal.timeout into AbortSignal.any. Node holds the timeout
// signal there only weakly: after a garbage collection it never fires, and the work it was meant
// to bound runs on forever (nodejs/node#57736). runtime/deadline.ts's deadlineSignal does the
// same job safely.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const problems = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts')) check(path, readFileSync(path, 'utf8'));
  }
}
function check(path, text) {
  const lines = text.split('\n');
  const timeouts = new Set();
  lines.forEach((line, index) => {
    if (/^\s*(\/\/|\*|\/\*)/u.test(line)) return;
    const assigned = /(?:const|let)\s+(\w+)\s*=.*AbortSignal\.timeout\(/u.exec(line);
    if (assigned) timeouts.add(assigned[1]);
    const joined = /AbortSignal\.any\(/u.test(line) && (/AbortSignal\.timeout\(/u.test(line) || [...timeouts].some((name) => new RegExp(`\\b${name}\\b`, 'u').test(line)));
    if (joined) problems.push(`${path}:${index + 1}: ${line.trim()}`);
  });
}
walk('src');
if (problems.length > 0) {
  console.error('AbortSignal.timeout joined into AbortSignal.any (it can be garbage-collected and never fire); use deadlineSignal from runtime/deadline.ts:');
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}

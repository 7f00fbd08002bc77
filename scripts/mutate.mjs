// Runs StrykerJS over each mutation target in turn (one at a time, one mutant at a time).
// Usage: npm run mutate [-- outbox routing store]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MUTATION_TARGETS } from './mutation-targets.mjs';

const names = process.argv.slice(2);
const targets = names.length > 0 ? names : Object.keys(MUTATION_TARGETS);
for (const name of targets) {
  if (!MUTATION_TARGETS[name]) {
    console.error(`Unknown mutation target "${name}": use one of ${Object.keys(MUTATION_TARGETS).join(', ')}.`);
    process.exit(2);
  }
}
const scores = [];
for (const name of targets) {
  console.log(`\n=== mutation testing: ${name} ===`);
  const result = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], { stdio: 'inherit', env: { ...process.env, HEARTH_MUTATE_TARGET: name } });
  if (result.status !== 0) process.exit(result.status ?? 1);
  const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, 'utf8'));
  const counts = { killed: 0, survived: 0, timeout: 0, noCoverage: 0, other: 0 };
  for (const file of Object.values(report.files)) {
    for (const mutant of file.mutants) {
      if (mutant.status === 'Killed') counts.killed += 1;
      else if (mutant.status === 'Survived') counts.survived += 1;
      else if (mutant.status === 'Timeout') counts.timeout += 1;
      else if (mutant.status === 'NoCoverage') counts.noCoverage += 1;
      else counts.other += 1;
    }
  }
  const detected = counts.killed + counts.timeout;
  const valid = detected + counts.survived + counts.noCoverage;
  scores.push({ target: name, score: valid === 0 ? 0 : Math.round((1000 * detected) / valid) / 10, ...counts });
}
console.log('\nMutation scores (killed + timed out, of all valid mutants):');
console.table(scores);

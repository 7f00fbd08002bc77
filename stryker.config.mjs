// Mutation testing (StrykerJS): `npm run mutate [-- <target>…]`, see docs/mutation-testing.md.
// Stryker mutates the TypeScript in a sandbox, compiles it once (every mutant is switched on by an
// environment variable at run time), then runs the target's unit tests once per mutant.
import { MUTATION_TARGETS } from './scripts/mutation-targets.mjs';

const name = process.env.HEARTH_MUTATE_TARGET ?? 'outbox';
const target = MUTATION_TARGETS[name];
if (!target) throw new Error(`Unknown mutation target "${name}": use one of ${Object.keys(MUTATION_TARGETS).join(', ')}.`);

export default {
  mutate: target.mutate,
  testRunner: 'command',
  commandRunner: { command: `node --test --test-concurrency=1 --test-timeout=60000 ${target.tests.join(' ')}` },
  buildCommand: 'npx tsc -p tsconfig.json',
  coverageAnalysis: 'off',
  concurrency: 1,
  timeoutMS: 10_000,
  timeoutFactor: 2,
  ignorePatterns: ['dist', 'reports', '.hearth', 'coverage', '*.log'],
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  // tsconfig.json has no `extends` or `references` to rewrite, and Stryker's rewriter needs the
  // TypeScript 5 API, which TypeScript 7 does not have: point it at a file that does not exist.
  tsconfigFile: 'tsconfig.stryker-unused.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};

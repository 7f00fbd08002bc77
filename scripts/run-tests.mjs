// Runs every compiled test file with Node's test runner. Usage: node scripts/run-tests.mjs [filter]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

const MACHINE_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Null when PostgreSQL answers at `url`, else why not. */
async function postgresProblem(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The cluster and PostgreSQL store tests need a server that trusts `postgres` on 127.0.0.1. The
 * machine's (port 5432) when it answers; else, unless HEARTH_TEST_POSTGRES_URL names another, a
 * server of the tests' own, made with Debian's binaries in a temporary folder and removed after.
 */
async function testPostgres() {
  if (process.env.HEARTH_TEST_POSTGRES_URL) return { env: {}, stop() {} };
  const problem = await postgresProblem(MACHINE_POSTGRES);
  if (problem === null) return { env: {}, stop() {} };
  const { startPrivatePostgres } = await import('../dist/test/support/private-postgres.js');
  const server = await startPrivatePostgres();
  console.log(`PostgreSQL does not answer at 127.0.0.1:5432 (${problem}): the tests use a server of their own at ${server.url}`);
  return { env: { HEARTH_TEST_POSTGRES_URL: server.url }, stop: () => server.stop() };
}

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
const postgres = await testPostgres();
let result;
try {
  result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env: { ...process.env, ...postgres.env },
  });
} finally {
  postgres.stop();
}
process.exit(result.status ?? 1);

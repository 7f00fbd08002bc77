import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The files of the subsystems `startGateway` starts, in the order it starts them. */
function startedInMain(): string[] {
  const source = readFileSync(join(root, 'src/main.ts'), 'utf8');
  const fileOf = new Map<string, string>();
  for (const [, names, file] of source.matchAll(/^import \{([^}]*)\} from '\.\/(.+)\.js';$/gm)) {
    for (const name of names!.split(',')) fileOf.set(name.replace(/^\s*type\s+/, '').trim(), `${file}.ts`);
  }
  return [...source.matchAll(/system\.start\((\w+)/g)].map(([, name]) => fileOf.get(name!) ?? `(not imported: ${name})`);
}

/** The files named in docs/architecture.md's subsystem table, in its order (the shared base left out). */
function listedInDocs(): string[] {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const table = doc.slice(doc.indexOf('| # | subsystem'));
  const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
  return rows.map((row) => /`([^`]+\.ts)`/.exec(row.split('|')[3] ?? '')?.[1] ?? row).filter((file) => file !== 'runtime/gateway-base.ts');
}

test('docs/architecture.md lists every subsystem src/main.ts starts, in the order it starts them', () => {
  const started = startedInMain();
  assert.ok(started.length >= 15, `found only ${started.length} subsystems in src/main.ts`);
  assert.deepEqual(listedInDocs(), started, 'update the table in docs/architecture.md, "Subsystems: start in order, stop in reverse"');
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../config/schema.js';
import { defineMethod } from '../gateway/rpc/rpc-types.js';
import { productSources, type ReferenceFile, referenceDocs } from './reference-docs.js';

/** The repository root, from dist/src/reference/. */
const root = fileURLToPath(new URL('../../../', import.meta.url));

function stale(files: readonly ReferenceFile[]): string[] {
  return files.filter((file) => file.current !== file.expected).map((file) => file.path);
}

describe('generated references', () => {
  it('docs/cli.md, docs/api.md, docs/config.md, README.md and the config sections\' defaults match the code', async () => {
    const { files } = await referenceDocs(root);
    assert.deepEqual(
      files.map((file) => file.path),
      ['docs/cli.md', 'docs/api.md', 'docs/config.md', 'README.md', 'src/config/section-defaults.ts'],
    );
    for (const file of files) {
      assert.ok(file.current === file.expected, `${file.path} is out of date: run npm run docs`);
    }
  });

  it('every command, RPC method and config key has a description', async () => {
    const { undocumented } = await referenceDocs(root);
    assert.deepEqual(undocumented, [], `These would show blank in the references:\n  ${undocumented.join('\n  ')}`);
  });

  it('a new CLI option makes docs/cli.md and nothing else out of date', async () => {
    const sources = productSources();
    const status = sources.program.commands.find((command) => command.name() === 'status');
    assert.ok(status);
    status.option('--watch <seconds>', 'print the report again every few seconds');
    const { files } = await referenceDocs(root, sources);
    assert.deepEqual(stale(files), ['docs/cli.md']);
    assert.match(files[0]?.expected ?? '', /\| `--watch <seconds>` \| print the report again every few seconds \| — \|/u);
  });

  it('a new top-level command also makes the README out of date', async () => {
    const sources = productSources();
    sources.program.command('backup').description('copy the database somewhere safe');
    const { files } = await referenceDocs(root, sources);
    assert.deepEqual(stale(files), ['docs/cli.md', 'README.md']);
    assert.match(files.find((file) => file.path === 'README.md')?.expected ?? '', /`hearth backup`/u);
  });

  it('a new RPC method makes docs/api.md out of date and lists its params', async () => {
    const sources = productSources();
    const ping = defineMethod({ description: 'Answers at once.', returns: '{pong}' }, z.strictObject({ echo: z.string().max(10).optional() }), async () => ({ pong: true }));
    const { files } = await referenceDocs(root, { ...sources, methods: { ...sources.methods, ping } });
    assert.deepEqual(stale(files), ['docs/api.md']);
    assert.match(files.find((file) => file.path === 'docs/api.md')?.expected ?? '', /\| `ping` \| Answers at once\. \| `\{echo\?: string\}` \| `\{pong\}` \|/u);
  });

  it('a new config key makes docs/config.md out of date, with its type, default and description', async () => {
    const sources = productSources();
    const extended = configSchema().extend({ backup: z.strictObject({ everyHours: z.number().int().min(1).max(168).default(24).describe('How often the database is copied.') }).optional() });
    const { files } = await referenceDocs(root, { ...sources, configSchema: extended });
    assert.deepEqual(stale(files), ['docs/config.md']);
    assert.match(files.find((file) => file.path === 'docs/config.md')?.expected ?? '', /\| `backup\.everyHours` \| integer 1–168 \| `24` \| How often the database is copied\. \|/u);
  });

  it('names a key, method or command that has no description', async () => {
    const sources = productSources();
    const extended = configSchema().extend({ backup: z.number().optional() });
    sources.program.command('backup');
    const bare = defineMethod({ description: '', returns: '' }, z.unknown(), async () => null);
    const { undocumented } = await referenceDocs(root, { program: sources.program, methods: { ...sources.methods, bare }, configSchema: extended });
    assert.deepEqual(undocumented, [
      'command "hearth backup": add .description() in src/cli/main.ts or channel-commands.ts',
      'RPC method "bare": give it a description and returns in defineMethod',
      'config key "backup": add .describe() in src/config/schema.ts or channel-schema.ts',
    ]);
  });
});

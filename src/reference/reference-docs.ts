import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import type { z } from 'zod';
import { buildProgram } from '../cli/main.js';
import { configSchema } from '../config/schema.js';
import { rpcMethods } from '../gateway/rpc/method-table.js';
import type { RpcMethod } from '../gateway/rpc/rpc-types.js';
import { renderCliReference, renderCliSummary } from './cli-reference.js';
import { renderConfigReference } from './config-reference.js';
import { replaceRegion } from './doc-regions.js';
import { renderRpcReference } from './rpc-reference.js';

/** What the references are generated from: the CLI program, the WS RPC method table and the config schema. */
export interface ReferenceSources {
  program: Command;
  methods: Readonly<Record<string, RpcMethod>>;
  configSchema: z.ZodType;
}

/** One documentation file: its text on disk and the text it should have with fresh generated regions. */
export interface ReferenceFile {
  /** Relative to the repository root, e.g. `docs/cli.md`. */
  path: string;
  current: string;
  expected: string;
}

/** The sources as the product has them: the real program (built, never run), methods and schema. */
export function productSources(): ReferenceSources {
  const quiet = { out: () => {}, err: () => {} };
  return { program: buildProgram({ env: {}, io: quiet, stdin: new PassThrough() }), methods: rpcMethods, configSchema };
}

/**
 * Regenerates every reference region in memory. `undocumented` names the commands, methods and
 * config keys that have no description, which the references would show blank.
 */
export async function referenceDocs(root: string, sources: ReferenceSources = productSources()): Promise<{ files: ReferenceFile[]; undocumented: string[] }> {
  const cli = renderCliReference(sources.program);
  const rpc = renderRpcReference(sources.methods);
  const config = renderConfigReference(sources.configSchema);
  const regions: Array<{ path: string; name: string; content: string }> = [
    { path: 'docs/cli.md', name: 'cli', content: cli.text },
    { path: 'docs/api.md', name: 'rpc', content: rpc.text },
    { path: 'docs/config.md', name: 'config', content: config.text },
    { path: 'README.md', name: 'cli-summary', content: renderCliSummary(sources.program) },
  ];
  const files: ReferenceFile[] = [];
  for (const region of regions) {
    const current = await readFile(join(root, region.path), 'utf8');
    files.push({ path: region.path, current, expected: replaceRegion(current, region.path, region.name, region.content) });
  }
  const undocumented = [
    ...cli.undocumented.map((name) => `command "${name}": add .description() in src/cli/main.ts`),
    ...rpc.undocumented.map((name) => `RPC method "${name}": give it a description and returns in defineMethod`),
    ...config.undocumented.map((path) => `config key "${path}": add .describe() in src/config/schema.ts or channel-schema.ts`),
  ];
  return { files, undocumented };
}

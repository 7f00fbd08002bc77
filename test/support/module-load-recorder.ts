/**
 * `node --import <this file>`: records every module the process loads that names a package in
 * `MODULE_LOAD_PATTERN` (a regular expression), one a line, in the file `MODULE_LOAD_LOG`, whether
 * it was imported (the ES module loader's resolve hook) or required (the bundle, bin/load-bundle.cjs,
 * and `loadCommonJs` load packages with `require`). Tests use it to prove that a gateway never
 * loaded an optional dependency.
 */
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

register(new URL('./module-load-hooks.js', import.meta.url));

type Resolve = (request: string, parent: unknown, isMain: boolean, options: unknown) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const resolveFilename = loader._resolveFilename;
loader._resolveFilename = function recordRequire(request, parent, isMain, options) {
  const resolved = resolveFilename.call(this, request, parent, isMain, options);
  const log = process.env.MODULE_LOAD_LOG;
  const pattern = process.env.MODULE_LOAD_PATTERN;
  if (log && pattern && (new RegExp(pattern, 'u').test(request) || new RegExp(pattern, 'u').test(resolved))) appendFileSync(log, `${resolved}\n`);
  return resolved;
};

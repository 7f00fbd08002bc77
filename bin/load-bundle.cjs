// Runs the bundle (dist/bundle/cli/main.cjs) the way `require` would, but with V8's code cache:
// a run without a usable cache compiles the bundle and then saves what V8 compiled next to it;
// later runs read that back instead of parsing 2 MB of JavaScript and compiling every function
// they call again (bench/README.md, "Start-up against the floor"). A cache V8 refuses (another
// Node version or other V8 flags) is rebuilt; one that cannot be written (a read-only install)
// only costs the compile. Each set of Node flags has its own cache, and so has each role: the
// gateway's holds what a start runs until it is ready, the other commands' what they ran.
'use strict';
const { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');

/** A short, stable name for what the cache depends on besides the source. */
function cacheKey(file) {
  const { size, mtimeMs } = statSync(file);
  const text = [process.version, process.arch, size, mtimeMs, ...process.execArgv, process.env.NODE_OPTIONS ?? ''].join('\n');
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

function readCache(path) {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Written whole or not at all: another process may be reading it. */
function writeCache(path, data) {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, path);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
  }
}

/**
 * Compiles the bundle, with the cache when there is one. The cache (1 MB) is read here so that it
 * can be freed at the next collection, before the bundle's top level runs: held in loadBundle's
 * frame, it would outlive a few collections and stay in memory as old garbage.
 */
function compile(file, cachePath) {
  const cachedData = readCache(cachePath);
  // No `importModuleDynamically`: code read back from the cache could not use it, so the bundle
  // has no `import()` (scripts/bundle.mjs turns each into `require`).
  const script = new vm.Script(readFileSync(file, 'latin1'), { filename: file, ...(cachedData ? { cachedData } : {}) });
  return { script, cacheTaken: cachedData !== undefined && !script.cachedDataRejected };
}

/**
 * Loads `file`, a CommonJS module written as its module wrapper (`(function (exports, require,
 * module, __filename, __dirname) { … })`, scripts/bundle.mjs), under the cache of `role`
 * ('gateway' or 'cli'). Returns its exports and `saveCodeCache()`, which writes the cache when V8
 * had none it could take: call it once what should be cached has run, and before anything changes
 * V8's flags (a cache made after that is refused by the next start). It does nothing after its
 * first call, or when the cache was taken.
 */
function loadBundle(file, role = 'cli') {
  const cachePath = `${file}.${role}-${cacheKey(file)}.cache`;
  const { script, cacheTaken } = compile(file, cachePath);
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dirname(file));
  const require = (id) => bundle.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, bundle, false, options);
  require.cache = Module._cache;
  script.runInThisContext().call(bundle.exports, bundle.exports, require, bundle, file, dirname(file));
  bundle.loaded = true;
  let saved = cacheTaken;
  // The cache holds every function that has run by the time it is made, not only the top level.
  const saveCodeCache = () => {
    if (saved) return;
    saved = true;
    writeCache(cachePath, script.createCachedData());
  };
  return { exports: bundle.exports, saveCodeCache };
}

module.exports = { loadBundle };

// `node [flags] bin/load-bundle.cjs <bundle>` runs the bundle's top level and saves its cache.
if (require.main === module) loadBundle(process.argv[2]).saveCodeCache();

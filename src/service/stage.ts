import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { readPackage, type VersionPaths } from './versions.js';

export interface StagedVersion {
  dir: string;
  version: string;
  /** How its dependencies were installed. */
  dependencies: 'linked from the running version (same dependencies)' | 'installed with npm ci';
  reused: boolean;
}

/** Folders never copied from a source folder into a staged version. */
const SKIPPED: readonly string[] = ['node_modules', '.git', '.hearth'];

/**
 * Stages `source` (a package folder, a tarball from `npm pack`, or a version to fetch with
 * `npm pack hearth@<version>`) in `versions/<version>/`: copied into a temporary folder first and
 * renamed into place once complete, so a half-staged version never looks staged, and never
 * touching the running version's files. Dependencies are hard-linked from the running version
 * when the lockfiles are the same, else installed there with `npm ci`.
 */
export function stageVersion(source: string, versions: VersionPaths, running: string, log: (line: string) => void): StagedVersion {
  mkdirSync(versions.root, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(versions.root, '.staging-'));
  try {
    const unpacked = join(work, 'package');
    fetchSource(source, unpacked, work, log);
    const { version } = readPackage(unpacked);
    requireBuilt(unpacked, source);
    const existing = join(versions.root, version);
    if (existsSync(existing) && samePackage(existing, unpacked)) return { dir: existing, version, dependencies: dependenciesOf(existing, running), reused: true };
    const dependencies = installDependencies(unpacked, running, log);
    const dir = freeName(versions.root, version);
    renameSync(unpacked, dir);
    return { dir, version, dependencies, reused: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fetchSource(source: string, into: string, work: string, log: (line: string) => void): void {
  const path = resolve(source);
  if (existsSync(path) && statSync(path).isDirectory()) {
    cpSync(path, into, { recursive: true, filter: (file) => !SKIPPED.includes(basename(file)) || relative(path, file).includes('/') });
    return;
  }
  if (existsSync(path)) {
    extractTarball(path, into);
    return;
  }
  if (!/^v?\d+\.\d+\.\d+([-+][\w.-]+)?$/u.test(source)) throw new Error(`"${source}" is neither a folder, a file nor a version like 1.2.3.`);
  log(`fetching hearth@${source.replace(/^v/u, '')} with npm pack`);
  // --loglevel=error, not --silent: npm's reason for a failure must reach the report.
  const packed = spawnSync('npm', ['pack', `hearth@${source.replace(/^v/u, '')}`, '--pack-destination', work, '--loglevel=error'], { encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`npm pack hearth@${source} failed: ${(packed.stderr || packed.stdout).trim().slice(0, 500)}`);
  extractTarball(join(work, packed.stdout.trim().split('\n').pop() ?? ''), into);
}

function extractTarball(file: string, into: string): void {
  const tar = loadCommonJs('tar') as { x(options: { file: string; cwd: string; sync: true; strip: number }): void };
  mkdirSync(into, { recursive: true });
  try {
    tar.x({ file, cwd: into, sync: true, strip: 1 });
  } catch (error) {
    throw new Error(`${file} is not a package tarball (${error instanceof Error ? error.message : String(error)}): give a folder, a tarball from \`npm pack\`, or a version like 1.2.3.`);
  }
  if (!existsSync(join(into, 'package.json'))) throw new Error(`${file} holds no package/package.json: make it with \`npm pack\`.`);
}

function requireBuilt(dir: string, source: string): void {
  const built = existsSync(join(dir, 'dist', 'bundle', 'cli', 'main.js')) || existsSync(join(dir, 'dist', 'src', 'cli', 'main.js'));
  if (!built || !existsSync(join(dir, 'bin', 'hearth.js'))) {
    throw new Error(`${source} is not built (no bin/hearth.js or dist/): run \`npm run build\` there, or stage the tarball \`npm pack\` makes.`);
  }
}

const lockfile = (dir: string) => (existsSync(join(dir, 'package-lock.json')) ? readFileSync(join(dir, 'package-lock.json'), 'utf8') : null);

/** The runtime dependencies as package.json names them (a tarball from `npm pack` has no lockfile). */
const dependencyList = (dir: string) => JSON.stringify((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: unknown }).dependencies ?? {});

/**
 * Whether a staged package needs exactly the running version's modules: the same lockfile when
 * both have one, else the same dependencies (a version staged from a tarball runs without a
 * lockfile, and the next one, staged from a folder, has one again).
 */
function sameDependencies(dir: string, running: string): boolean {
  const staged = lockfile(dir);
  const current = lockfile(running);
  return staged !== null && current !== null ? staged === current : dependencyList(dir) === dependencyList(running);
}

function dependenciesOf(dir: string, running: string): StagedVersion['dependencies'] {
  return sameDependencies(dir, running) ? 'linked from the running version (same dependencies)' : 'installed with npm ci';
}

function installDependencies(dir: string, running: string, log: (line: string) => void): StagedVersion['dependencies'] {
  if (sameDependencies(dir, running) && existsSync(join(running, 'node_modules'))) {
    const linked = spawnSync('cp', ['-al', join(running, 'node_modules'), join(dir, 'node_modules')], { encoding: 'utf8' });
    if (linked.status === 0) return 'linked from the running version (same dependencies)';
    log(`hard-linking node_modules failed (${linked.stderr.trim()}): installing instead`);
  }
  const command = lockfile(dir) === null ? 'install' : 'ci';
  log(`installing its dependencies (npm ${command} --omit=dev)`);
  const installed = spawnSync('npm', [command, '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (installed.status !== 0) throw new Error(`npm ${command} of its dependencies failed: ${npmError(installed.stderr)}`);
  // Native modules build from their own install scripts; the package's own build scripts do not run.
  const rebuilt = spawnSync('npm', ['rebuild', '--omit=dev'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (rebuilt.status !== 0) throw new Error(`npm rebuild of its dependencies failed: ${npmError(rebuilt.stderr)}`);
  return 'installed with npm ci';
}

/**
 * What npm said went wrong, from its `npm error` lines: the reason comes first, and the command's
 * usage text npm prints after a usage error (which would push the reason out of a short message)
 * and the pointer to its debug log are left out.
 */
function npmError(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => /^npm (error|ERR!)/u.test(line));
  if (lines.length === 0) return stderr.trim().slice(-800);
  const said: string[] = [];
  for (const line of lines.map((entry) => entry.replace(/^npm (error|ERR!) ?/u, '').trim())) {
    if (line === 'Usage:') {
      said.pop(); // the command's one-line description, just before its usage
      break;
    }
    if (line !== '' && !line.startsWith('A complete log of this run') && !said.includes(line)) said.push(line);
  }
  return said.join(' ').slice(0, 800);
}

function samePackage(a: string, b: string): boolean {
  const read = (dir: string, file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : '');
  return ['package.json', 'package-lock.json'].every((file) => read(a, file) === read(b, file)) && listing(a) === listing(b);
}

/** The names and sizes under dist/: enough to tell two builds of one version apart. */
function listing(dir: string): string {
  const walk = (path: string): string[] =>
    readdirSync(path, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(path, entry.name)) : [`${relative(dir, join(path, entry.name))}:${statSync(join(path, entry.name)).size}`],
    );
  return existsSync(join(dir, 'dist')) ? walk(join(dir, 'dist')).sort().join('\n') : '';
}

function freeName(root: string, version: string): string {
  for (let n = 1; ; n++) {
    const dir = join(root, n === 1 ? version : `${version}-${n}`);
    if (!existsSync(dir)) return dir;
  }
}

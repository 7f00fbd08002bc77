import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPluginHost, type PluginHost, type PluginHostOptions, type PluginStatus } from '../../src/plugins/plugin-host.js';
import { REPO_ROOT } from './gateway-harness.js';

// Shared by the plugin host's tests: temp HEARTH_HOMEs holding copies of the fixture plugins, a
// host over them, and waits on its changes and log lines.
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'plugins');
export const FAST = { loadMs: 3000, callMs: 3000, hookMs: 1000, pingMs: 60_000 };

export interface Home {
  home: string;
  root: string;
  quarantineDir: string;
  logs: string[];
  /** Called after each log line. */
  onLog: Set<() => void>;
}

/** Plugin folders written by a test: folder name → file name → text. */
export type ExtraPlugins = Record<string, Record<string, string>>;

/** A temp HEARTH_HOME with `plugins/` holding copies of the named fixtures (and the shared helper), plus `extra`. */
export function makeHome(fixtures: string[], extra: ExtraPlugins = {}): Home {
  const home = mkdtempSync(join(tmpdir(), 'hearth-plugins-'));
  const root = join(home, 'plugins');
  mkdirSync(root);
  for (const name of [...fixtures, 'shared']) cpSync(join(FIXTURES, name), join(root, name), { recursive: true });
  for (const [name, files] of Object.entries(extra)) {
    mkdirSync(join(root, name));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(root, name, file), text);
  }
  return { home, root, quarantineDir: join(root, '.quarantine'), logs: [], onLog: new Set() };
}

/** A plugin folder's files: a manifest registering `tools`, `hooks` and `routes`, and `index.js` as given. */
export function plugin(id: string, registers: { tools?: string[]; hooks?: string[]; routes?: string[]; channels?: string[] }, source: string): ExtraPlugins {
  return { [id]: { 'hearth.plugin.json': JSON.stringify({ id, version: '0.1.0', entry: 'index.js', registers }), 'index.js': source } };
}

export async function withHost(fixtures: string[], options: Partial<PluginHostOptions> & { extra?: ExtraPlugins }, run: (host: PluginHost, home: Home) => Promise<void>): Promise<void> {
  const { extra, ...overrides } = options;
  const home = makeHome(fixtures, extra);
  const line = (level: string) => (object: object, message: string) => {
    home.logs.push(`${level} ${message} ${JSON.stringify(object)}`);
    for (const listener of home.onLog) listener();
  };
  const host = createPluginHost({
    roots: [home.root],
    quarantineDir: home.quarantineDir,
    logger: { info: line('info'), warn: line('warn'), error: line('error') },
    timeouts: FAST,
    ...overrides,
  });
  try {
    await host.start();
    await run(host, home);
  } finally {
    await host.stop();
    rmSync(home.home, { recursive: true, force: true });
  }
}

export function statusOf(host: PluginHost, id: string): PluginStatus {
  const status = host.status().find((entry) => entry.id === id);
  assert.ok(status, `no status for ${id}`);
  return status;
}

/** Resolves once `check()` holds, re-checked at each change of the host; fails after `withinMs`. */
export function waitFor(host: PluginHost, check: () => boolean, what: string, withinMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`not within ${withinMs} ms: ${what}; status: ${JSON.stringify(host.status())}`));
    }, withinMs);
    const off = host.onChange(() => {
      if (!check()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

export const quarantined = (host: PluginHost, id: string) => waitFor(host, () => statusOf(host, id).quarantinedTo !== null, `${id} quarantined and moved`);

/** Asserts `id` was quarantined: its folder moved under the quarantine folder with a reason.txt matching `reason`. */
export function assertQuarantined(host: PluginHost, home: Home, id: string, reason: RegExp): void {
  const status = statusOf(host, id);
  assert.equal(status.state, 'quarantined');
  assert.match(status.lastError ?? '', reason);
  assert.ok(status.quarantinedTo?.startsWith(join(home.quarantineDir, `${id}-`)), String(status.quarantinedTo));
  assert.match(status.quarantinedTo ?? '', /-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/);
  assert.equal(existsSync(join(home.root, id)), false, 'the folder left the plugins folder');
  const note = readFileSync(join(status.quarantinedTo ?? '', 'reason.txt'), 'utf8');
  assert.match(note, reason);
  assert.match(note, new RegExp(`plugin "${id}"`));
}

/** Resolves once a log line contains `text`; fails after `withinMs`. */
export function waitForLog(home: Home, text: string, withinMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!home.logs.some((line) => line.includes(text))) return;
      clearTimeout(timer);
      home.onLog.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      home.onLog.delete(check);
      reject(new Error(`no log line with "${text}" within ${withinMs} ms: ${home.logs.join('\n')}`));
    }, withinMs);
    home.onLog.add(check);
    check();
  });
}

/**
 * Summarises V8 `.cpuprofile` files (from `npm run bench -- --cpu-prof DIR`): the top functions
 * by self time, and self time per source file / package.
 * Usage: node dist/bench/profile-summary.js <profile.cpuprofile | DIR> [top=30]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

function groupOf(url: string): string {
  if (url === '') return '(native / VM)';
  if (url.startsWith('node:')) return url;
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return shortUrl(url);
}

function summarize(path: string, top: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // A sample lasts until the next one: timeDeltas[i + 1].
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
  });
  const totalUs = profile.endTime - profile.startTime;
  let idleUs = 0;
  const byFunction = new Map<string, number>();
  const byGroup = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const group = frame.functionName.startsWith('(') && frame.url === '' ? frame.functionName : groupOf(frame.url);
    byGroup.set(group, (byGroup.get(group) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => `${((us / busyUs) * 100).toFixed(1).padStart(5)}%`;
  const msText = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  console.log(`\n${path}\n  wall ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s (idle ${(idleUs / 1e6).toFixed(1)} s)`);
  console.log(`\n  top ${top} functions by self time (share of busy time):`);
  for (const [key, us] of [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${msText(us)} ${pct(us)}  ${key}`);
  console.log('\n  self time by file / package:');
  for (const [key, us] of [...byGroup.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${msText(us)} ${pct(us)}  ${key}`);

  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const frameKey = (node: ProfileNode) =>
    `${node.callFrame.functionName || '(anonymous)'}  ${shortUrl(node.callFrame.url)}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
  const inclusive = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  for (const [id, us] of selfUs) {
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    const chain: string[] = [];
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const node = byId.get(current)!;
      if (node.callFrame.functionName === '(root)') break;
      const key = frameKey(node);
      chain.push(key);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
    // Who calls the leaf: the first frames from our own code (dist/src) up the stack, else the nearest 3.
    const own = chain.slice(1).filter((key) => key.includes('dist/src/')).slice(0, 2);
    const via = (own.length > 0 ? own : chain.slice(1, 4)).join(' <- ');
    const perLeaf = callers.get(chain[0]!) ?? new Map<string, number>();
    perLeaf.set(via, (perLeaf.get(via) ?? 0) + us);
    callers.set(chain[0]!, perLeaf);
  }
  console.log(`\n  top ${top} functions from dist/src by inclusive time:`);
  for (const [key, us] of [...inclusive.entries()].filter(([key]) => key.includes('dist/src/')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${msText(us)} ${pct(us)}  ${key}`);
  }
  // Long tasks: stretches of consecutive non-idle samples (what makes p99 latency).
  const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';
  const stretches: { us: number; frames: Map<string, number> }[] = [];
  let current: { us: number; frames: Map<string, number> } | undefined;
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index + 1] ?? 0;
    if (isIdle(id)) {
      if (current) stretches.push(current);
      current = undefined;
      return;
    }
    current ??= { us: 0, frames: new Map() };
    current.us += us;
    // Attribute to the innermost frame of our own code, else the leaf.
    let label = frameKey(byId.get(id)!);
    for (let walk: number | undefined = id; walk !== undefined; walk = parent.get(walk)) {
      const key = frameKey(byId.get(walk)!);
      if (key.includes('dist/src/')) {
        label = `${key} (leaf: ${frameKey(byId.get(id)!).split('  ')[0]})`;
        break;
      }
    }
    current.frames.set(label, (current.frames.get(label) ?? 0) + us);
  });
  if (current) stretches.push(current);
  const long = stretches.filter((stretch) => stretch.us >= 10_000).sort((a, b) => b.us - a.us);
  console.log(`\n  busy stretches >= 10 ms without going idle: ${long.length} (longest ${((long[0]?.us ?? 0) / 1000).toFixed(1)} ms); the 8 longest:`);
  for (const stretch of long.slice(0, 8)) {
    const parts = [...stretch.frames.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(`  ${msText(stretch.us)}  ${parts.map(([key, us]) => `${(us / 1000).toFixed(1)} ms ${key}`).join(' | ')}`);
  }

  console.log('\n  where the top 8 self-time functions are called from:');
  for (const [key, us] of [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    console.log(`  ${msText(us)} ${pct(us)}  ${key}`);
    for (const [via, viaUs] of [...(callers.get(key) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]).slice(0, 4)) {
      console.log(`      ${msText(viaUs)}  via ${via}`);
    }
  }
}

const target = process.argv[2];
const top = Number(process.argv[3] ?? 30) || 30;
if (!target) {
  console.error('usage: node dist/bench/profile-summary.js <profile.cpuprofile | DIR> [top]');
  process.exit(2);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(target, name))
  : [target];
for (const file of files) summarize(file, top);

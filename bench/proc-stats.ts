/** Small helpers for the bench: percentiles, medians and per-process figures from /proc. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Nearest-rank percentile (p in 0..100) of an unsorted sample; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Resident set size of a process in MB (VmRSS), or NaN when it cannot be read. */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds a process has used so far (from /proc/<pid>/stat), NaN when unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of this (the client) process, user + system. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU seconds all CPUs of the machine spent busy so far (from /proc/stat), NaN when unreadable. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/**
 * RSS of a process by kind of mapping, in MB (from /proc/<pid>/smaps): `[heap]` (brk, malloc),
 * `anon` (anonymous mmaps: V8's heap, malloc arenas, thread stacks), `node binary`, `shared libs`,
 * `other files` (named file mappings such as the SQLite -shm file), and `[stack]` etc.
 */
export function rssByMapping(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return out;
  }
  let kind = 'anon';
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const name = line.split(/\s+/).slice(5).join(' ');
      if (name === '') kind = 'anon';
      else if (name.startsWith('[')) kind = name;
      else if (/\/node$/.test(name)) kind = 'node binary';
      else if (/\.so(\.|$)|\.node$/.test(name)) kind = 'shared libs';
      else kind = `file ${name.split('/').pop()}`;
    } else if (line.startsWith('Rss:')) {
      const kb = Number(line.split(/\s+/)[1]);
      out[kind] = (out[kind] ?? 0) + kb / 1024;
    }
  }
  for (const key of Object.keys(out)) out[key] = Math.round(out[key]! * 10) / 10;
  return out;
}

/**
 * CPU time of every thread of a process in seconds, from the scheduler's nanosecond counters
 * (`/proc/<pid>/task/<tid>/schedstat`): finer than `cpuSeconds` (10 ms clock ticks), which matters
 * for a 10 s idle window. NaN when unreadable. Threads that exit meanwhile drop out of the sum,
 * which in an idle gateway does not happen.
 */
export function preciseCpuSeconds(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/);
      total += Number(fields[0]);
    }
    return total / 1e9;
  } catch {
    return Number.NaN;
  }
}

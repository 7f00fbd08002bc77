import { type ChildProcess, spawn } from 'node:child_process';

export interface RunCommandOptions {
  /** Through `/bin/sh -c` (a string) or as exact words without a shell (an array). */
  command: string | readonly string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  /** Characters of output kept: half from the start, half from the end, the cut marked. */
  maxOutputChars: number;
  /** Between SIGTERM to the command's process group and SIGKILL. */
  killGraceMs?: number;
}

export interface CommandOutcome {
  exitCode: number | null;
  /** The signal that ended the command, if one did. */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** stdout and stderr as they came, interleaved. */
  output: string;
  /** Characters of output left out of the middle. */
  cutChars: number;
  durationMs: number;
  /** Set when the command could not start at all (ENOENT for a missing program, …). */
  startError?: string;
}

/**
 * Runs a command in its own process group and waits for it. On timeout or abort the whole group
 * gets SIGTERM, then SIGKILL after `killGraceMs` (default 2 s); when the command ends, whatever it
 * left running in its group is killed too, so nothing it started outlives the call. Output is kept
 * within `maxOutputChars` (head and tail).
 */
export function runCommand(options: RunCommandOptions): Promise<CommandOutcome> {
  const started = performance.now();
  const [file, args] = typeof options.command === 'string' ? ['/bin/sh', ['-c', options.command]] : [options.command[0]!, options.command.slice(1)];
  const output = createOutputKeeper(options.maxOutputChars);
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const state = { timedOut: false, aborted: false, killTimer: undefined as NodeJS.Timeout | undefined, exit: null as { code: number | null; signal: string | null } | null };
    const killGroup = (signal: NodeJS.Signals) => signalGroup(child, signal);
    const stop = (reason: 'timedOut' | 'aborted') => {
      if (state.exit || state.timedOut || state.aborted) return;
      state[reason] = true;
      killGroup('SIGTERM');
      state.killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 2000);
    };
    const timer = setTimeout(() => stop('timedOut'), options.timeoutMs);
    const onAbort = () => stop('aborted');
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', output.add);
    child.stderr.setEncoding('utf8').on('data', output.add);
    child.on('exit', (code, signal) => {
      state.exit = { code, signal };
      // Anything the command left behind in its group (a `sleep &`) would hold the output open.
      killGroup('SIGKILL');
    });
    let finished = false;
    const finish = (startError?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(state.killTimer);
      options.signal.removeEventListener('abort', onAbort);
      const kept = output.result();
      resolve({
        exitCode: state.exit?.code ?? null,
        signal: state.exit?.signal ?? null,
        timedOut: state.timedOut,
        aborted: state.aborted,
        output: kept.text,
        cutChars: kept.cutChars,
        durationMs: Math.round(performance.now() - started),
        ...(startError ? { startError } : {}),
      });
    };
    child.on('error', (error) => finish(error.message));
    child.on('close', () => finish());
    if (options.signal.aborted) onAbort();
  });
}

/** Sends `signal` to the process group a detached child leads (it and all it started); a group already gone is no error. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Keeps the first half of `max` characters and a rolling last half; counts what falls between. */
function createOutputKeeper(max: number) {
  const half = Math.floor(max / 2);
  const state = { head: '', tail: '', cut: 0 };
  return {
    add: (chunk: string) => {
      let rest = chunk;
      if (state.head.length < half) {
        const room = half - state.head.length;
        state.head += rest.slice(0, room);
        rest = rest.slice(room);
      }
      if (rest === '') return;
      state.tail += rest;
      if (state.tail.length > half) {
        state.cut += state.tail.length - half;
        state.tail = state.tail.slice(-half);
      }
    },
    result: () => ({
      text: state.cut > 0 ? `${state.head}\n[… ${state.cut} characters of output left out …]\n${state.tail}` : state.head + state.tail,
      cutChars: state.cut,
    }),
  };
}

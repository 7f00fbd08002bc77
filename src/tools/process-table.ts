import { type ChildProcess, spawn } from 'node:child_process';
import { signalGroup } from './run-command.js';

/** Bounds of the background processes: per session, in all, and the output kept of each. */
export interface ProcessTableLimits {
  perSession: number;
  total: number;
  outputChars: number;
  /** Between SIGTERM to a process group and SIGKILL. */
  killGraceMs: number;
}

const DEFAULT_LIMITS: ProcessTableLimits = { perSession: 8, total: 32, outputChars: 64_000, killGraceMs: 2000 };

export interface BackgroundProcess {
  id: string;
  sessionKey: string;
  command: string;
  startedAt: number;
  pid: number | undefined;
  /** null while it runs. */
  exit: { code: number | null; signal: string | null; at: number } | null;
}

/** New output since `from` (an offset in all the output the process wrote), and what fell out of the kept window. */
export interface OutputRead {
  text: string;
  next: number;
  droppedChars: number;
}

interface Entry extends BackgroundProcess {
  child: ChildProcess;
  output: { text: string; start: number; total: number };
  cursor: number;
  closed: Promise<void>;
}

/**
 * The background processes the `process` tool starts, owned by their session: at most
 * `perSession` per session (exited ones are forgotten first to make room) and `total` in all, each
 * in a process group of its own with the last `outputChars` of its output kept. A session reset
 * kills its processes (`killSession`); the gateway's stop kills them all (`stopAll`), so none is
 * ever left behind.
 */
export function createProcessTable(limits: Partial<ProcessTableLimits> = {}) {
  const bounds = { ...DEFAULT_LIMITS, ...limits };
  const entries = new Map<string, Entry>();
  const state = { next: 1, stopped: false };

  const ofSession = (sessionKey: string) => [...entries.values()].filter((entry) => entry.sessionKey === sessionKey);
  const running = () => [...entries.values()].filter((entry) => entry.exit === null);

  const kill = async (entry: Entry): Promise<void> => {
    if (entry.exit === null) {
      signalGroup(entry.child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(entry.child, 'SIGKILL'), bounds.killGraceMs);
      await entry.closed;
      clearTimeout(timer);
    }
  };

  /** Room for one more process of the session: exited ones are forgotten first, oldest first; refused when every slot runs. */
  const makeRoom = (sessionKey: string): string | null => {
    if (state.stopped) return 'The gateway is stopping; no process can start.';
    let count = ofSession(sessionKey).length;
    for (const entry of ofSession(sessionKey)) {
      if (count < bounds.perSession) break;
      if (entry.exit === null) continue;
      entries.delete(entry.id);
      count -= 1;
    }
    if (count >= bounds.perSession) return `This session has ${bounds.perSession} background processes running, the most it may: kill one first (process {action: "kill", id}).`;
    if (running().length >= bounds.total) return `${bounds.total} background processes are running across all sessions, the most the gateway allows; kill one first.`;
    return null;
  };

  return {
    /** Starts `command` (a string through /bin/sh, or exact words) for the session, or says why it cannot. */
    start(sessionKey: string, command: string | readonly string[], options: { label: string; cwd: string; env: Record<string, string> }): BackgroundProcess | { refused: string } {
      const refused = makeRoom(sessionKey);
      if (refused) return { refused };
      const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0]!, command.slice(1)];
      const child = spawn(file, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      const entry: Entry = {
        id: `p${state.next++}`,
        sessionKey,
        command: options.label,
        startedAt: Date.now(),
        pid: child.pid,
        exit: null,
        child,
        output: { text: '', start: 0, total: 0 },
        cursor: 0,
        closed: new Promise<void>((resolve) => {
          child.on('close', () => resolve());
          child.on('error', () => resolve());
        }),
      };
      const append = (chunk: string) => appendOutput(entry.output, chunk, bounds.outputChars);
      child.stdout!.setEncoding('utf8').on('data', append);
      child.stderr!.setEncoding('utf8').on('data', append);
      child.stdin!.on('error', () => undefined);
      child.on('error', (error) => {
        append(`[could not start: ${error.message}]\n`);
        entry.exit ??= { code: null, signal: null, at: Date.now() };
      });
      child.on('exit', (code, signal) => {
        entry.exit = { code, signal, at: Date.now() };
        // What it left running in its group goes with it.
        signalGroup(child, 'SIGKILL');
      });
      entries.set(entry.id, entry);
      return publicView(entry);
    },

    get(sessionKey: string, id: string): BackgroundProcess | undefined {
      const entry = entries.get(id);
      return entry && entry.sessionKey === sessionKey ? publicView(entry) : undefined;
    },

    /** Output since the last read of this process (or since `from`). */
    read(sessionKey: string, id: string, from?: number): OutputRead | undefined {
      const entry = entries.get(id);
      if (!entry || entry.sessionKey !== sessionKey) return undefined;
      const start = from ?? entry.cursor;
      const { text, start: kept, total } = entry.output;
      const droppedChars = Math.max(0, kept - start);
      entry.cursor = total;
      return { text: text.slice(Math.max(0, start - kept)), next: total, droppedChars };
    },

    write(sessionKey: string, id: string, input: string): boolean {
      const entry = entries.get(id);
      if (!entry || entry.sessionKey !== sessionKey || entry.exit !== null || !entry.child.stdin?.writable) return false;
      entry.child.stdin.write(input);
      return true;
    },

    async kill(sessionKey: string, id: string): Promise<BackgroundProcess | undefined> {
      const entry = entries.get(id);
      if (!entry || entry.sessionKey !== sessionKey) return undefined;
      await kill(entry);
      return publicView(entry);
    },

    list: (sessionKey: string): BackgroundProcess[] => ofSession(sessionKey).map(publicView),

    /** Kills the session's processes and forgets them (a session reset). */
    async killSession(sessionKey: string): Promise<void> {
      const own = ofSession(sessionKey);
      await Promise.all(own.map(kill));
      for (const entry of own) entries.delete(entry.id);
    },

    /** Kills every process; no more start (the gateway's stop). */
    async stopAll(): Promise<void> {
      state.stopped = true;
      await Promise.all([...entries.values()].map(kill));
      entries.clear();
    },

    stats: () => ({ running: running().length, kept: entries.size }),
  };
}

export type ProcessTable = ReturnType<typeof createProcessTable>;

function publicView(entry: Entry): BackgroundProcess {
  return { id: entry.id, sessionKey: entry.sessionKey, command: entry.command, startedAt: entry.startedAt, pid: entry.pid, exit: entry.exit };
}

/** Appends to a window of the last `max` characters, keeping count of all the output. */
function appendOutput(output: { text: string; start: number; total: number }, chunk: string, max: number): void {
  output.text += chunk;
  output.total += chunk.length;
  if (output.text.length > max) {
    output.text = output.text.slice(output.text.length - max);
    output.start = output.total - output.text.length;
  }
}

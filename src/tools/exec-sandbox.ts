/** Where `exec` finds bubblewrap, and which folders a sandboxed command must not see. */
export interface SandboxOptions {
  /** The bubblewrap program (default `bwrap`, found on PATH). */
  bwrap?: string;
  /** Folders hidden from the command (an empty folder in their place): the user's home, the gateway's state. */
  hide: readonly string[];
}

/**
 * The bubblewrap command line that runs `command` confined to `workspace`: the whole file system
 * read-only, the `hide` folders replaced by empty ones, the workspace bound back writable, a
 * private `/tmp`, `/dev` and `/proc`, and every namespace of its own (PID, IPC, UTS, cgroup and,
 * unless `network`, the network: only a loopback of its own). The sandbox dies with its parent,
 * and in a session of its own no command in it can reach the gateway's terminal.
 */
export function sandboxArgv(command: string | readonly string[], options: SandboxOptions & { workspace: string; cwd: string; network: boolean }): string[] {
  const inner = typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
  return [
    options.bwrap ?? 'bwrap',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    ...options.hide.flatMap((folder) => ['--tmpfs', folder]),
    '--bind', options.workspace, options.workspace,
    '--unshare-all',
    ...(options.network ? ['--share-net'] : []),
    '--die-with-parent',
    '--new-session',
    '--chdir', options.cwd,
    '--',
    ...inner,
  ];
}

/** What to tell the agent when bubblewrap is missing or cannot set the sandbox up: never a run on the host instead. */
export function sandboxFailure(detail: string): string {
  return (
    `The sandbox could not start (${detail.trim()}), so the command did not run. tools.exec.sandbox is "workspace", which needs ` +
    'bubblewrap: the operator can install it (apt-get install bubblewrap) or set tools.exec.sandbox to "off".'
  );
}

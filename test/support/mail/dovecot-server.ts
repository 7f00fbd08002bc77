import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';

/** Debian's dovecot (package dovecot-imapd), or DOVECOT_BIN. */
export const DOVECOT_BIN = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';

/**
 * A real IMAP server for the email channel's tests: Debian's dovecot on a free loopback port,
 * with a throw-away configuration, user list and mail store in a temporary folder. Users are added
 * while it runs (dovecot reads the passwd-file again when it changes).
 */
export interface DovecotServer {
  host: string;
  port: number;
  /** Adds a mailbox user and resolves once dovecot accepts its login. */
  addUser(user: string, password: string): Promise<void>;
  /** Puts a raw RFC 822 message into a user's INBOX, as a delivery would; returns its UID. */
  deliver(user: string, password: string, raw: string): Promise<number>;
  /** Ends every IMAP session of a user (doveadm kick), as a server restart or a network cut would. */
  kick(user: string): Promise<void>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Who dovecot runs as: its own system users when the tests run as root, else the current user. */
function identities(): { internal: string; login: string; mailUid: string; mailGid: string; chown?: { uid: number; gid: number } } {
  const me = userInfo();
  if (me.uid !== 0) return { internal: me.username, login: me.username, mailUid: String(me.uid), mailGid: String(me.gid) };
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((line) => line.startsWith('dovecot:'))?.split(':');
  if (!entry) throw new Error('the dovecot system user is missing: install dovecot-imapd (apt-get install -y dovecot-imapd)');
  return { internal: 'dovecot', login: 'dovenull', mailUid: 'dovecot', mailGid: 'dovecot', chown: { uid: Number(entry[2]), gid: Number(entry[3]) } };
}

function config(dir: string, port: number, who: ReturnType<typeof identities>): string {
  return `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
protocol imap {
  mail_max_userip_connections = 200
}
mail_location = maildir:${dir}/mail/%u
first_valid_uid = 0
default_internal_user = ${who.internal}
default_internal_group = ${who.internal === 'dovecot' ? 'dovecot' : who.mailGid}
default_login_user = ${who.login}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${who.mailUid} gid=${who.mailGid} home=${dir}/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
# No authentication penalty: it slows every login from an address after failed ones (up to
# 15 s), and the tests that check refused credentials share 127.0.0.1 with all the others.
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dovecot exited (${child.exitCode}):\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not listen on ${port} within 10 s:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startDovecot(): Promise<DovecotServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-dovecot-'));
  chmodSync(dir, 0o755);
  const who = identities();
  for (const sub of ['run', 'state', 'mail', 'home']) mkdirSync(join(dir, sub));
  if (who.chown) for (const sub of ['mail', 'home']) chownSync(join(dir, sub), who.chown.uid, who.chown.gid);
  writeFileSync(join(dir, 'users'), '');
  const port = await freePort();
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, config(dir, port, who));
  let output = '';
  const child = spawn(DOVECOT_BIN, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => {
    try {
      return `${output}${readFileSync(join(dir, 'dovecot.log'), 'utf8')}`;
    } catch {
      return output;
    }
  };
  await waitForPort(port, child, log);
  const imap = (user: string, password: string) => new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: password }, logger: false });
  return {
    host: '127.0.0.1',
    port,
    async addUser(user, password) {
      appendFileSync(join(dir, 'users'), `${user}:{PLAIN}${password}\n`);
      // dovecot can refuse a user added a moment ago while it has not read its passwd-file again;
      // a bot's first login then fails as refused credentials, which the channel does not retry.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const client = imap(user, password);
        const failure = await client.connect().then(
          () => null,
          (error: { responseText?: string; message: string }) => error.responseText ?? error.message,
        );
        if (failure === null) return client.logout().catch(() => client.close());
        if (Date.now() > deadline) throw new Error(`dovecot did not accept the new user ${user} within 10 s: ${failure}\n${log().split('\n').slice(-5).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async deliver(user, password, raw) {
      const client = imap(user, password);
      await client.connect().catch((error: { responseText?: string; message: string }) => {
        throw new Error(`logging in as ${user} failed: ${error.responseText ?? error.message}\n${log().split('\n').slice(-5).join('\n')}`);
      });
      try {
        const appended = await client.append('INBOX', raw).catch((error: { responseText?: string; message: string }) => {
          throw new Error(`APPEND for ${user} failed: ${error.responseText ?? error.message}\n${log().split('\n').slice(-5).join('\n')}`);
        });
        return appended ? Number(appended.uid) : 0;
      } finally {
        await client.logout().catch(() => client.close());
      }
    },
    kick: (user) =>
      new Promise((resolve) => {
        execFile(join(DOVECOT_BIN, '..', '..', 'bin', 'doveadm'), ['-c', conf, 'kick', user], () => resolve());
      }),
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs a real IRC server (Debian's ngircd 26) on 127.0.0.1 for tests: a fresh temp dir with its
 * config, a self-signed TLS certificate made with openssl, free loopback ports for plain and TLS
 * connections, and an IRC operator account so tests can force-disconnect a client (KILL).
 *
 * ngircd's normal flood protection stays on (unless `floodProtection: false`). Once a client has
 * sent about 256 bytes within one second, or more than 3 commands arrive in one read, ngircd stops
 * reading from it for a second and then handles 3 commands per second. It delays; it never drops
 * lines and never disconnects for flooding. A line longer than 512 bytes (CR LF included) gets the
 * client disconnected with "ERROR :Request too long". A relayed line that would be longer than 512
 * bytes once the sender's prefix is added is cut and ends in "[CUT]".
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, chown, constants, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectIrcUser } from './irc-user.js';

export interface NgircdOptions {
  /** Default: $NGIRCD_BIN or /usr/sbin/ngircd. */
  binary?: string;
  /** IRC server name (must contain a dot). Default 'irc.hearth.test'. */
  serverName?: string;
  /** Server password every client must send with PASS. Default: none. */
  password?: string;
  /** Default 30 (ngircd's own default is 9). Announced as NICKLEN in 005. */
  maxNickLength?: number;
  /** Default true: ngircd's normal command pacing. false sets MaxPenaltyTime = 0 (no pacing). */
  floodProtection?: boolean;
  /** Appended verbatim to the config, e.g. a [Channel] section. */
  extraConfig?: string;
  /** Bound on starting (and on each restart), default 10 s. */
  startTimeoutMs?: number;
  /** After SIGTERM, wait this long before SIGKILL (default 3 s). */
  stopTimeoutMs?: number;
}

export interface NgircdServer {
  host: '127.0.0.1';
  /** Plain-text port. */
  port: number;
  /** TLS port (self-signed certificate for 127.0.0.1 / localhost). */
  tlsPort: number;
  /** The certificate, to trust as a CA; or connect with rejectUnauthorized: false. */
  caCertPem: string;
  serverName: string;
  password: string | undefined;
  /** The IRC operator account in the config (OPER <name> <password>). */
  operator: { name: string; password: string };
  /** The temp dir holding config, certificate and PID file (removed by stop()). */
  dir: string;
  /** PID of the running ngircd, undefined while stopped. */
  pid(): number | undefined;
  /** ngircd's recent console output (its log), for diagnostics. */
  logs(): string;
  /** Disconnects every client using `nick` via an operator KILL; they get "ERROR :KILLed by <oper>: <reason>". */
  disconnectNick(nick: string, reason?: string): Promise<void>;
  /** Stops ngircd (all clients lose their connection), waits `downtimeMs`, starts it again on the same ports. */
  restart(options?: { downtimeMs?: number }): Promise<void>;
  /** SIGTERM (then SIGKILL after the bound) and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const LOG_LIMIT = 64 * 1024;
/** ngircd drops root privileges to this user (it refuses to keep running as root). */
const NOBODY = 65534;

function run(file: string, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Asks the kernel for a free loopback port (released again right away, so ngircd can bind it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: HOST, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function checkTools(binary: string): Promise<void> {
  try {
    await access(binary, constants.X_OK);
  } catch {
    throw new Error(`ngircd not found at ${binary} (install Debian's "ngircd" package or set NGIRCD_BIN)`);
  }
  try {
    await run('openssl', ['version']);
  } catch {
    throw new Error('openssl is needed to make the test server\'s TLS certificate, but "openssl version" failed');
  }
}

async function makeTlsFiles(dir: string): Promise<{ cert: string; key: string; dh: string | undefined }> {
  const cert = join(dir, 'tls-cert.pem');
  const key = join(dir, 'tls-key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  // Well-known DH group (RFC 7919), so ngircd does not generate parameters at start-up.
  const dh = join(dir, 'tls-dh.pem');
  try {
    await run('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', dh]);
    return { cert, key, dh };
  } catch {
    return { cert, key, dh: undefined };
  }
}

interface ConfigInput {
  dir: string;
  serverName: string;
  port: number;
  tlsPort: number;
  password: string | undefined;
  maxNickLength: number;
  floodProtection: boolean;
  tls: { cert: string; key: string; dh: string | undefined };
  operator: { name: string; password: string };
  asRoot: boolean;
  extraConfig: string;
}

function renderConfig(c: ConfigInput): string {
  const lines = [
    '[Global]',
    `Name = ${c.serverName}`,
    'Info = Hearth test server',
    'AdminInfo1 = Hearth tests',
    'AdminInfo2 = 127.0.0.1 only',
    'AdminEMail = tests@hearth.invalid',
    `Listen = ${HOST}`,
    `Ports = ${c.port}`,
    'MotdPhrase = Hearth test server',
    `PidFile = ${join(c.dir, 'run', 'ngircd.pid')}`,
    ...(c.password === undefined ? [] : [`Password = ${c.password}`]),
    // As root, ngircd switches to this user right after binding its ports (it would pick "nobody" anyway).
    ...(c.asRoot ? [`ServerUID = ${NOBODY}`, `ServerGID = ${NOBODY}`] : []),
    '',
    '[Limits]',
    // Many test clients share 127.0.0.1 (ngircd's default allows 5 per IP).
    'MaxConnectionsIP = 0',
    'MaxJoins = 0',
    `MaxNickLength = ${c.maxNickLength}`,
    // -1 = ngircd's default pacing (3 commands per second); 0 disables penalties.
    `MaxPenaltyTime = ${c.floodProtection ? -1 : 0}`,
    'PingTimeout = 120',
    'PongTimeout = 20',
    '',
    '[Options]',
    // Fast, hermetic registration: no DNS or IDENT look-ups, no PAM, no host config snippets.
    'DNS = no',
    'Ident = no',
    'PAM = no',
    `IncludeDir = ${join(c.dir, 'conf.d')}`,
    '',
    '[SSL]',
    `CertFile = ${c.tls.cert}`,
    `KeyFile = ${c.tls.key}`,
    ...(c.tls.dh === undefined ? [] : [`DHFile = ${c.tls.dh}`]),
    `Ports = ${c.tlsPort}`,
    '',
    '[Operator]',
    `Name = ${c.operator.name}`,
    `Password = ${c.operator.password}`,
    '',
    c.extraConfig,
    '',
  ];
  return lines.join('\n');
}

export async function startNgircd(options: NgircdOptions = {}): Promise<NgircdServer> {
  const binary = options.binary ?? process.env['NGIRCD_BIN'] ?? '/usr/sbin/ngircd';
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 3000;
  const serverName = options.serverName ?? 'irc.hearth.test';
  const operator = { name: 'hearthop', password: randomBytes(8).toString('hex') };
  const asRoot = process.getuid?.() === 0;

  await checkTools(binary);
  const dir = await mkdtemp(join(tmpdir(), 'hearth-ngircd-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let stopped = false;

  const appendLog = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(log.length - LOG_LIMIT);
  };

  async function spawnAndWait(port: number, tlsPort: number, configPath: string): Promise<void> {
    const proc = spawn(binary, ['--nodaemon', '--passive', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', appendLog);
    proc.stderr?.on('data', appendLog);
    let exitInfo: string | undefined;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        exitInfo = signal === null ? `exit code ${code}` : `signal ${signal}`;
        if (child === proc) child = undefined;
        resolve();
      });
      proc.once('error', (error) => {
        exitInfo = error.message;
        if (child === proc) child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (exitInfo !== undefined) throw new Error(`ngircd exited before listening (${exitInfo}). Its output:\n${log}`);
      const [plain, secure] = await Promise.all([accepts(port), accepts(tlsPort)]);
      if (plain && secure) return;
      if (Date.now() > deadline) {
        await stopProcess();
        throw new Error(`ngircd did not accept connections on ${HOST}:${port} and :${tlsPort} within ${startTimeoutMs} ms. Its output:\n${log}`);
      }
      await sleep(50);
    }
  }

  async function stopProcess(): Promise<void> {
    const proc = child;
    if (proc === undefined) return;
    proc.kill('SIGTERM');
    const gone = await Promise.race([exited.then(() => true), sleep(stopTimeoutMs).then(() => false)]);
    if (!gone) {
      proc.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }
    child = undefined;
  }

  let port = 0;
  let tlsPort = 0;
  let caCertPem = '';
  const configPath = join(dir, 'ngircd.conf');
  try {
    const tls = await makeTlsFiles(dir);
    caCertPem = await readFile(tls.cert, 'utf8');
    await mkdir(join(dir, 'conf.d'));
    await mkdir(join(dir, 'run'));
    if (asRoot) {
      // ngircd runs as "nobody" after start-up: it must reach the dir and write its PID file.
      await chmod(dir, 0o755);
      await chown(join(dir, 'run'), NOBODY, NOBODY);
    }
    // A port picked here can, rarely, be taken before ngircd binds it: then try fresh ports.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      tlsPort = await freePort();
      if (port === tlsPort) continue;
      const config = renderConfig({
        dir, serverName, port, tlsPort, password: options.password, operator, asRoot, tls,
        maxNickLength: options.maxNickLength ?? 30,
        floodProtection: options.floodProtection ?? true,
        extraConfig: options.extraConfig ?? '',
      });
      await writeFile(configPath, config, { mode: 0o644 });
      try {
        await spawnAndWait(port, tlsPort, configPath);
        break;
      } catch (error) {
        if (attempt >= 3 || !/Can't bind|Address already in use/i.test(log)) throw error;
        log = '';
      }
    }
  } catch (error) {
    await stopProcess();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const server: NgircdServer = {
    host: HOST,
    port,
    tlsPort,
    caCertPem,
    serverName,
    password: options.password,
    operator,
    dir,
    pid: () => child?.pid,
    logs: () => log,
    async disconnectNick(nick, reason = 'Disconnected by the test harness') {
      const opNick = `op${randomBytes(4).toString('hex').slice(0, 7)}`;
      const op = await connectIrcUser({ host: HOST, port, nick: opNick, password: options.password });
      try {
        op.sendRaw(`OPER ${operator.name} ${operator.password}`);
        const oper = await op.waitForLine((l) => l.command === '381' || l.command === '464' || l.command === '491', 10_000);
        if (oper.command !== '381') throw new Error(`OPER failed: ${oper.raw}`);
        // ngircd ignores a KILL for an unknown nick silently, so ask first.
        op.sendRaw(`ISON ${nick}`);
        const ison = await op.waitForLine((l) => l.command === '303', 10_000);
        const online = (ison.params[1] ?? '').split(' ').some((n) => n.toLowerCase() === nick.toLowerCase());
        if (!online) throw new Error(`cannot disconnect ${nick}: no such nick`);
        op.sendRaw(`KILL ${nick} :${reason}`);
        // Commands are handled in order, so the PONG means the KILL has been processed.
        const token = randomBytes(4).toString('hex');
        op.sendRaw(`PING :${token}`);
        await op.waitForLine((l) => l.command === 'PONG' && l.params.includes(token), 10_000);
      } finally {
        await op.quit('done');
      }
    },
    async restart(restartOptions = {}) {
      if (stopped) throw new Error('ngircd test server was stopped');
      await stopProcess();
      if (restartOptions.downtimeMs) await sleep(restartOptions.downtimeMs);
      await spawnAndWait(port, tlsPort, configPath);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopProcess();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelPlatform } from '../config/channel-schema.js';

/**
 * Channel credentials saved by `hearth channels login`: one JSON file per account in
 * `credentials/channels/<platform>--<accountId>.json`, mode 0600, written atomically. The config
 * file wins where both set a value; an account with saved credentials runs even when the config
 * does not mention it (with the default policies).
 */

/** The secrets each platform's login asks for, in order. */
export const LOGIN_FIELDS: Record<ChannelPlatform, { key: string; prompt: string; optional?: boolean }[]> = {
  telegram: [{ key: 'botToken', prompt: 'Bot token from @BotFather' }],
  discord: [{ key: 'token', prompt: 'Bot token from the Discord Developer Portal' }],
  slack: [
    { key: 'botToken', prompt: 'Bot token (xoxb-…)' },
    { key: 'appToken', prompt: 'App-level token for Socket Mode (xapp-…)' },
  ],
  irc: [{ key: 'password', prompt: 'Server or NickServ password (empty for none)', optional: true }],
  matrix: [{ key: 'accessToken', prompt: 'Access token of the bot\'s Matrix account (signed in to Element as the bot: Settings → Help & About → Access Token)' }],
  whatsapp: [
    { key: 'accessToken', prompt: 'Access token (Meta developer app → WhatsApp → API Setup; for production a System User token from Business Settings with whatsapp_business_messaging)' },
    { key: 'appSecret', prompt: 'App secret (Meta developer app → App settings → Basic → App secret; it checks every webhook\'s signature)' },
  ],
  feishu: [
    { key: 'appSecret', prompt: 'App Secret (Feishu / Lark open platform → your app → Credentials & Basic Info; put the App ID in the config as appId)' },
    { key: 'verificationToken', prompt: 'Verification Token (your app → Events & Callbacks → Encryption strategy)' },
    { key: 'encryptKey', prompt: 'Encrypt Key (same page; empty if you did not set one, but set one: it makes Feishu sign and encrypt events)', optional: true },
  ],
  // Signal has no token: signal-cli holds the account's keys, and Hearth only talks to its daemon.
  signal: [],
  email: [
    { key: 'imapPassword', prompt: 'IMAP password (with two-step sign-in, an app password: Google Account → Security → App passwords; Outlook: Security → Advanced security options)' },
    { key: 'smtpPassword', prompt: 'SMTP password (empty: the same as the IMAP password)', optional: true },
  ],
};

/** What to do instead, for a platform whose login has no secrets to save. */
export const LOGIN_GUIDANCE: Partial<Record<ChannelPlatform, string>> = {
  signal: [
    'Signal has no token to paste: Hearth talks to a signal-cli daemon that holds the account. To set it up:',
    '  1. Install signal-cli (https://github.com/AsamK/signal-cli) on the gateway\'s machine.',
    '  2. Give it an account, either',
    '     - link it to your phone as a new device: run `signal-cli link -n Hearth` and scan the QR code it prints',
    '       (render the sgnl:// link as a QR code, e.g. with qrencode) in Signal on the phone: Settings → Linked devices → +; or',
    '     - register a number of its own: `signal-cli -a +NUMBER register`, then `signal-cli -a +NUMBER verify CODE`',
    '       with the code Signal sends by SMS.',
    '  3. Start the daemon: `signal-cli -a +NUMBER daemon --http 127.0.0.1:8080 --receive-mode on-connection`',
    '     (leave out -a to serve every account; on-connection keeps messages queued at Signal while Hearth is away).',
    '  4. In hearth.json5 set channels.signal.account to "+NUMBER" and, if the daemon listens elsewhere,',
    '     channels.signal.rpcUrl (default http://127.0.0.1:8080). Several numbers go under channels.signal.accounts.',
    'Then `hearth channels status` shows the account connected.',
  ].join('\n'),
};

const fileName = (platform: string, accountId: string) => `${platform}--${accountId}.json`;

export function channelCredentialsDir(credentialsDir: string): string {
  return join(credentialsDir, 'channels');
}

const FILE_NAME = /^([a-z]+)--([a-z0-9_][a-z0-9_-]{0,63})\.json$/u;

/**
 * Checks one saved credentials file against what `hearth channels login` writes: the name
 * `<platform>--<account>.json` of a known platform, a JSON object whose keys are that platform's
 * login fields and whose values are strings. Returns the values, or the problem.
 */
export function validateChannelCredentials(name: string, text: string): { ok: true; key: string; values: Record<string, string> } | { ok: false; problem: string } {
  const match = FILE_NAME.exec(name);
  if (!match) return { ok: false, problem: 'its name is not <platform>--<account>.json' };
  const platform = match[1] as ChannelPlatform;
  const fields = LOGIN_FIELDS[platform];
  if (!Object.hasOwn(LOGIN_FIELDS, platform) || !fields) return { ok: false, problem: `"${platform}" is not a platform Hearth knows (${Object.keys(LOGIN_FIELDS).join(', ')})` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `it is not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problem: 'it is not an object of strings' };
  const known = new Set(fields.map((field) => field.key));
  const values: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!known.has(key)) return { ok: false, problem: `"${key}" is not a ${platform} login field (${[...known].join(', ')})` };
    if (typeof item !== 'string') return { ok: false, problem: `"${key}" is not a string` };
    if (item.length > 0) values[key] = item;
  }
  return { ok: true, key: `${match[1]}:${match[2]}`, values };
}

/**
 * Every saved account's credentials, keyed `<platform>:<accountId>`. A file that fails
 * validation is never half-loaded: with `onInvalid` it is handed over (the gateway quarantines
 * it), and it is skipped either way. Files not named like credentials are left alone.
 */
export function readChannelCredentials(
  credentialsDir: string,
  onInvalid?: (file: string, problem: string) => void,
): Record<string, Record<string, string>> {
  const dir = channelCredentialsDir(credentialsDir);
  const found: Record<string, Record<string, string>> = {};
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const checked = validateChannelCredentials(name, text);
    if (checked.ok) found[checked.key] = checked.values;
    else onInvalid?.(file, checked.problem);
  }
  return found;
}

export function writeChannelCredentials(credentialsDir: string, platform: ChannelPlatform, accountId: string, values: Record<string, string>): string {
  const dir = channelCredentialsDir(credentialsDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, fileName(platform, accountId));
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
  return path;
}

/** Removes an account's saved credentials; false when there were none. */
export function removeChannelCredentials(credentialsDir: string, platform: ChannelPlatform, accountId: string): boolean {
  const path = join(channelCredentialsDir(credentialsDir), fileName(platform, accountId));
  try {
    readFileSync(path);
  } catch {
    return false;
  }
  rmSync(path, { force: true });
  return true;
}

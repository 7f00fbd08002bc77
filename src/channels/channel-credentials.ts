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
};

const fileName = (platform: string, accountId: string) => `${platform}--${accountId}.json`;

export function channelCredentialsDir(credentialsDir: string): string {
  return join(credentialsDir, 'channels');
}

/** Every saved account's credentials, keyed `<platform>:<accountId>`. Unreadable files are skipped. */
export function readChannelCredentials(credentialsDir: string): Record<string, Record<string, string>> {
  const dir = channelCredentialsDir(credentialsDir);
  const found: Record<string, Record<string, string>> = {};
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names.sort()) {
    const match = /^([a-z]+)--([a-z0-9_][a-z0-9_-]{0,63})\.json$/u.exec(name);
    if (!match) continue;
    try {
      const value = JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown;
      if (typeof value !== 'object' || value === null) continue;
      const strings: Record<string, string> = {};
      for (const [key, item] of Object.entries(value)) if (typeof item === 'string' && item.length > 0) strings[key] = item;
      found[`${match[1]}:${match[2]}`] = strings;
    } catch {
      // A damaged file is ignored; `hearth channels status` shows the account's missing token.
    }
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

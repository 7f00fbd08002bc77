/**
 * A chat written as one string, for alerts, heartbeats and cron escalation:
 * `<platform>:<chat>`, `<platform>:<account>:<chat>` or `<platform>:<account>:<chat>:<thread>`.
 * A Matrix id (`!room:server`, `@user:server`, `#alias:server`, with an optional `:port`) is one
 * chat even though it holds colons, so `matrix:default:!abc:example.org` names a room.
 */
export interface ChatSpec {
  platform: string;
  accountId: string;
  chatId: string;
  threadId?: string;
}

const CHAT_SPEC = /^([a-z0-9_-]+)(?::([^:\s!@#][^:\s]*))?:([!@#][^:\s]+:[^:\s]+?(?::\d+)?|[^:\s!@#][^:\s]*)(?::([^:\s!@#][^:\s]*))?$/u;

export const CHAT_SPEC_HINT =
  'write <platform>:<chat>, <platform>:<account>:<chat> or <platform>:<account>:<chat>:<thread>, e.g. telegram:default:12345 or matrix:default:!room:example.org';

/** The parts of a chat spec, or null when it is not one. */
export function parseChatSpec(spec: string): ChatSpec | null {
  const match = CHAT_SPEC.exec(spec);
  if (!match) return null;
  const [, platform, account, chat, thread] = match as unknown as [string, string, string | undefined, string, string | undefined];
  return { platform, accountId: account ?? 'default', chatId: chat, ...(thread ? { threadId: thread } : {}) };
}

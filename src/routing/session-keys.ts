/**
 * Session keys (DESIGN §4): `agent:<agentId>:main`, `agent:<agentId>:<channel>:direct:<peerId>`,
 * `agent:<agentId>:<channel>:group:<groupId>[:thread:<threadId>]`, `cron:<jobId>:run:<runId>`.
 */
export type DmScope = 'main' | 'per-peer' | 'per-channel-peer' | 'per-account-channel-peer';

export function mainSessionKey(agentId: string): string {
  return `agent:${agentId}:main`;
}

export interface DirectPeer {
  agentId: string;
  channel: string;
  accountId?: string;
  peerId: string;
}

/** The session a direct message belongs to under the configured `session.dmScope`. */
export function directSessionKey(peer: DirectPeer, dmScope: DmScope): string {
  switch (dmScope) {
    case 'main':
      return mainSessionKey(peer.agentId);
    case 'per-peer':
      return `agent:${peer.agentId}:direct:${peer.peerId}`;
    case 'per-channel-peer':
      return `agent:${peer.agentId}:${peer.channel}:direct:${peer.peerId}`;
    case 'per-account-channel-peer':
      return `agent:${peer.agentId}:${peer.channel}:${peer.accountId ?? 'default'}:direct:${peer.peerId}`;
  }
}

export function groupSessionKey(agentId: string, channel: string, groupId: string, threadId?: string): string {
  const base = `agent:${agentId}:${channel}:group:${groupId}`;
  return threadId === undefined ? base : `${base}:thread:${threadId}`;
}

export function cronSessionKey(jobId: string, runId: string): string {
  return `cron:${jobId}:run:${runId}`;
}

/** The agent a session key belongs to, or null when the key has none (cron keys). */
export function agentIdOfSessionKey(sessionKey: string): string | null {
  const match = /^agent:([a-z0-9_][a-z0-9_-]{0,63}):/.exec(sessionKey);
  return match ? (match[1] ?? null) : null;
}

/** Checks a key sent by a client: printable, bounded, and of a known shape. */
export function isValidSessionKey(sessionKey: string): boolean {
  if (sessionKey.length === 0 || sessionKey.length > 512) return false;
  if (/[\u0000-\u001f\u007f]/.test(sessionKey)) return false;
  return /^agent:[a-z0-9_][a-z0-9_-]{0,63}:.+/.test(sessionKey) || /^cron:[^:]+:run:.+/.test(sessionKey);
}

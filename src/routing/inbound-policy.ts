import type { InboundMessage } from '../contracts/channel.js';
import type { DmScope } from './session-keys.js';
import { directSessionKey, groupSessionKey } from './session-keys.js';

/** An account's routing settings (see channel config: dmPolicy, allowFrom, groupPolicy, …). */
export interface InboundPolicy {
  dmPolicy: 'pairing' | 'allowlist' | 'open' | 'disabled';
  allowFrom: readonly string[];
  groupPolicy: 'allowlist' | 'open' | 'disabled';
  groups: readonly string[];
  requireMention: boolean;
  mentionPatterns: readonly RegExp[];
}

/** What to do with an inbound message. */
export type InboundDecision =
  | { action: 'answer' }
  /** An unknown sender in a direct chat under the `pairing` policy: send a pairing code. */
  | { action: 'pair' }
  | { action: 'ignore'; reason: string };

/** Whether any candidate (an id or a username, with or without @, any case) is in the list, or the list has "*". */
export function listed(list: readonly string[], ...candidates: (string | undefined)[]): boolean {
  if (list.includes('*')) return true;
  const wanted = list.map((entry) => entry.replace(/^@/u, '').toLowerCase());
  return candidates.some((candidate) => candidate !== undefined && wanted.includes(candidate.replace(/^@/u, '').toLowerCase()));
}

/**
 * Applies, in order: the direct-message policy (with pairing approvals), the group policy, and
 * mention gating in groups. `approved` says whether the sender was approved by pairing.
 */
export function decideInbound(message: InboundMessage, policy: InboundPolicy, approved: boolean): InboundDecision {
  if (message.chat.kind === 'direct') {
    const allowed = listed(policy.allowFrom, message.sender.id, message.sender.username) || approved;
    switch (policy.dmPolicy) {
      case 'disabled':
        return { action: 'ignore', reason: 'direct messages are disabled (dmPolicy "disabled")' };
      case 'open':
        return policy.allowFrom.includes('*') || allowed
          ? { action: 'answer' }
          : { action: 'ignore', reason: 'dmPolicy "open" needs "*" in allowFrom; the sender is not listed' };
      case 'allowlist':
        return allowed ? { action: 'answer' } : { action: 'ignore', reason: `sender ${message.sender.id} is not in allowFrom` };
      case 'pairing':
        return allowed ? { action: 'answer' } : { action: 'pair' };
    }
  }
  if (policy.groupPolicy === 'disabled') return { action: 'ignore', reason: 'group messages are disabled (groupPolicy "disabled")' };
  if (policy.groupPolicy === 'allowlist' && !listed(policy.groups, message.chat.id)) {
    return { action: 'ignore', reason: `group ${message.chat.id} is not in groups (groupPolicy "allowlist")` };
  }
  if (policy.requireMention && !mentioned(message, policy.mentionPatterns)) {
    return { action: 'ignore', reason: 'the bot was not mentioned or replied to' };
  }
  return { action: 'answer' };
}

/**
 * Why an answered message is not the owner's own input, or null when it is: a direct message from
 * a sender named in `allowFrom` (by id or username; "*" names nobody) counts as the owner's.
 * Group and thread messages (anyone there can write), senders let in by "*" and senders approved
 * by pairing (usually other people) are outside input: memory written from them is untrusted.
 */
export function untrustedInputReason(message: InboundMessage, policy: Pick<InboundPolicy, 'allowFrom'>, channel: string): string | null {
  if (message.chat.kind !== 'direct') return `a ${message.chat.kind} message on ${channel}, where others can write`;
  const named = policy.allowFrom.filter((entry) => entry !== '*');
  if (listed(named, message.sender.id, message.sender.username)) return null;
  return `a direct message on ${channel} from ${message.sender.id}, who is not named in allowFrom`;
}

export function mentioned(message: InboundMessage, patterns: readonly RegExp[]): boolean {
  return message.mentionsBot || message.replyToBot || patterns.some((pattern) => pattern.test(message.text));
}

export interface BindingRule {
  agentId: string;
  match: { channel: string; accountId?: string | undefined; peer?: { kind: 'direct' | 'group'; id: string } | undefined };
}

/**
 * The agent for a message: the most specific binding wins (peer, then account, then channel);
 * within a tier the first in config order. Falls back to `defaultAgentId`.
 */
export function bindAgent(
  bindings: readonly BindingRule[],
  where: { channel: string; accountId: string; kind: 'direct' | 'group'; peerId: string },
  defaultAgentId: string,
): string {
  let best: { agentId: string; score: number } | null = null;
  for (const binding of bindings) {
    const match = binding.match;
    if (match.channel !== where.channel) continue;
    if (match.accountId !== undefined && match.accountId !== where.accountId) continue;
    if (match.peer && (match.peer.kind !== where.kind || match.peer.id !== where.peerId)) continue;
    const score = match.peer ? 3 : match.accountId !== undefined ? 2 : 1;
    if (!best || score > best.score) best = { agentId: binding.agentId, score };
  }
  return best?.agentId ?? defaultAgentId;
}

/** The session an inbound message belongs to (DESIGN §4 keys; direct chats follow dmScope). */
export function inboundSessionKey(
  message: InboundMessage,
  where: { agentId: string; channel: string; accountId: string; dmScope: DmScope },
): string {
  if (message.chat.kind === 'direct') {
    return directSessionKey({ agentId: where.agentId, channel: where.channel, accountId: where.accountId, peerId: message.sender.id }, where.dmScope);
  }
  return groupSessionKey(where.agentId, where.channel, message.chat.id, message.chat.kind === 'thread' ? message.chat.threadId : undefined);
}

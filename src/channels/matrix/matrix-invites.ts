import { applyStateEvent, emptyRoom, isObject, listOf } from './matrix-events.js';

/** The account's routing settings that decide which invites the bot accepts. */
export interface MatrixInvitePolicy {
  dmPolicy: 'pairing' | 'allowlist' | 'open' | 'disabled';
  allowFrom: readonly string[];
  groupPolicy: 'allowlist' | 'open' | 'disabled';
  groups: readonly string[];
}

/** An invite as /sync reports it (`rooms.invite.<roomId>.invite_state`). */
export interface MatrixInvite {
  roomId: string;
  /** Who invited the bot (the sender of its m.room.member invite event). */
  inviter: string | null;
  /** The inviter marked it a direct chat (`is_direct`). */
  direct: boolean;
  name?: string;
  encrypted: boolean;
}

export function readInvite(roomId: string, entry: unknown, botUserId: string): MatrixInvite {
  const events = listOf(isObject(entry) && isObject(entry.invite_state) ? entry.invite_state.events : undefined);
  const room = emptyRoom();
  let inviter: string | null = null;
  let direct = false;
  for (const event of events) {
    applyStateEvent(room, event);
    if (!isObject(event) || event.type !== 'm.room.member' || event.state_key !== botUserId || !isObject(event.content)) continue;
    if (event.content.membership !== 'invite') continue;
    inviter = typeof event.sender === 'string' ? event.sender : null;
    direct = event.content.is_direct === true;
  }
  return { roomId, inviter, direct, encrypted: room.encrypted, ...(room.name ? { name: room.name } : {}) };
}

const listed = (list: readonly string[], id: string | null) => list.includes('*') || (id !== null && list.includes(id));

/**
 * Whether to join: a DM invite when the DM policy lets the inviter talk to the bot (pairing and
 * open let anyone start; allowlist only allowFrom), a room invite when the group policy lets the
 * bot answer there (open, or the room listed in groups).
 */
export function decideInvite(invite: MatrixInvite, policy: MatrixInvitePolicy): { join: boolean; reason: string } {
  if (invite.direct) {
    if (policy.dmPolicy === 'disabled') return { join: false, reason: 'direct messages are disabled (dmPolicy "disabled")' };
    if (policy.dmPolicy === 'allowlist' && !listed(policy.allowFrom, invite.inviter)) {
      return { join: false, reason: `the inviter ${invite.inviter ?? '(unknown)'} is not in allowFrom (dmPolicy "allowlist")` };
    }
    return { join: true, reason: `a direct chat from ${invite.inviter ?? '(unknown)'} (dmPolicy "${policy.dmPolicy}")` };
  }
  if (policy.groupPolicy === 'disabled') return { join: false, reason: 'group rooms are disabled (groupPolicy "disabled")' };
  if (policy.groupPolicy === 'allowlist' && !listed(policy.groups, invite.roomId)) {
    return { join: false, reason: `the room ${invite.roomId} is not in groups (groupPolicy "allowlist")` };
  }
  return { join: true, reason: `a room invite from ${invite.inviter ?? '(unknown)'} (groupPolicy "${policy.groupPolicy}")` };
}

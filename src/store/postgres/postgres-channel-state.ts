import type { PairingOutcome, QuarantinedRow, Store } from '../../contracts/store.js';
import {
  type ApprovalRow,
  OUTBOX_COLUMNS,
  type OutboxRow,
  type PairingRow,
  toApproval,
  toApprovedSender,
  toOutboxEntry,
  toPairingRequest,
} from '../row-mappers.js';
import { approvalRowProblem, approvedSenderRowSchema, pairingRowSchema, rowProblem } from '../sqlite/stored-row-schemas.js';
import type { PgRunner, Query } from './postgres-runner.js';

type ChannelStateMethods = Pick<
  Store,
  | 'enqueueOutbox'
  | 'undeliveredOutbox'
  | 'recordOutboxProgress'
  | 'markDelivered'
  | 'recordDeliveryFailure'
  | 'outboxCounts'
  | 'requestPairing'
  | 'listPairingRequests'
  | 'approvePairing'
  | 'denyPairing'
  | 'isApprovedSender'
  | 'listApprovedSenders'
  | 'revokeApprovedSender'
  | 'readChannelCursor'
  | 'writeChannelCursor'
  | 'requestApproval'
  | 'decideApproval'
  | 'getApproval'
  | 'listApprovals'
  | 'listAllowedCommands'
>;

/**
 * Marks stored rows that fail their schema in `quarantined_rows` so they are skipped (never
 * half-loaded) and listed; the row itself is kept as it was. The PostgreSQL twin of sqlite-quarantine.
 */
export function createPgQuarantine(now: () => number = Date.now) {
  return {
    /** True when the row may be loaded; otherwise marks it (once) with the problem. */
    async admit(query: Query, table: string, key: string, problem: string | null): Promise<boolean> {
      if (problem === null) return true;
      await query('INSERT INTO quarantined_rows (table_name, row_key, reason, quarantined_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [table, key, problem, now()]);
      return false;
    },
    async clear(query: Query, table: string, key: string): Promise<void> {
      await query('DELETE FROM quarantined_rows WHERE table_name = $1 AND row_key = $2', [table, key]);
    },
    async list(query: Query): Promise<QuarantinedRow[]> {
      const rows = await query<{ table_name: string; row_key: string; reason: string; quarantined_at: number }>(
        'SELECT table_name, row_key, reason, quarantined_at FROM quarantined_rows ORDER BY quarantined_at, table_name, row_key',
      );
      return rows.rows.map((row) => ({ table: row.table_name, key: row.row_key, reason: row.reason, at: row.quarantined_at }));
    },
  };
}

export type PgQuarantine = ReturnType<typeof createPgQuarantine>;

const INSERT_OUTBOX = `INSERT INTO outbox (run_id, session_key, channel, target, text, status, attempts, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6)
  RETURNING ${OUTBOX_COLUMNS}`;

export { INSERT_OUTBOX };

/** The outbox, pairing, channel cursors and exec approvals in PostgreSQL. */
export function createPostgresChannelState({ read, write }: PgRunner, quarantine: PgQuarantine): ChannelStateMethods {
  const pairing = async (query: Query, row: PairingRow | undefined): Promise<PairingRow | undefined> =>
    row && (await quarantine.admit(query, 'pairing_requests', row.code, rowProblem(row as unknown as Record<string, unknown>, pairingRowSchema))) ? row : undefined;
  const senderKey = (row: Record<string, unknown>) => `${String(row.channel)}:${String(row.account_id)}:${String(row.sender_id)}`;
  const isApproved = async (query: Query, channel: string, accountId: string, senderId: string): Promise<boolean> => {
    const row = (await query('SELECT * FROM approved_senders WHERE channel = $1 AND account_id = $2 AND sender_id = $3', [channel, accountId, senderId])).rows[0];
    return row !== undefined && (await quarantine.admit(query, 'approved_senders', senderKey(row), rowProblem(row, approvedSenderRowSchema)));
  };
  /** The approval request row when it passes its schema; marked in `quarantined_rows` and left out when not. */
  const soundApproval = async (query: Query, row: ApprovalRow | undefined): Promise<ApprovalRow | undefined> =>
    row && (await quarantine.admit(query, 'exec_approvals', row.id, approvalRowProblem(row))) ? row : undefined;
  const liveByCode = async (query: Query, code: string, now: number) =>
    pairing(query, (await query<PairingRow>('SELECT * FROM pairing_requests WHERE code = $1 AND expires_at > $2 FOR UPDATE', [code.trim().toUpperCase(), now])).rows[0]);

  return {
    enqueueOutbox: (input) =>
      write('queue a message', async (query) => {
        const rows = await query<OutboxRow>(INSERT_OUTBOX, [input.runId, input.sessionKey, input.channel, input.target, input.text, input.now]);
        return toOutboxEntry(rows.rows[0] as OutboxRow);
      }),
    undeliveredOutbox: (limit) =>
      read('list undelivered messages', async (query) =>
        (await query<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY id LIMIT $1`, [limit])).rows.map(toOutboxEntry),
      ),
    recordOutboxProgress: (outboxId, chunksSent) =>
      write('record delivery progress', async (query) => {
        await query('UPDATE outbox SET chunks_sent = GREATEST(chunks_sent, $1) WHERE id = $2', [chunksSent, outboxId]);
      }),
    markDelivered: (outboxId, now) =>
      write('mark a message delivered', async (query) => {
        await query(`UPDATE outbox SET status = 'delivered', delivered_at = $1, attempts = attempts + 1, next_attempt_at = NULL WHERE id = $2`, [now, outboxId]);
      }),
    recordDeliveryFailure: (outboxId, failure) =>
      write('record a delivery failure', async (query) => {
        if (failure.retryAt === null) {
          await query(`UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $1, next_attempt_at = NULL WHERE id = $2`, [failure.error, outboxId]);
        } else {
          await query(`UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3 AND status = 'pending'`, [
            failure.error,
            failure.retryAt,
            outboxId,
          ]);
        }
      }),
    outboxCounts: () =>
      read('count queued messages', async (query) =>
        (
          await query<{ channel: string; pending: number; failed: number }>(
            `SELECT channel, COUNT(*) FILTER (WHERE status = 'pending') AS pending, COUNT(*) FILTER (WHERE status = 'failed') AS failed FROM outbox
             WHERE status IN ('pending', 'failed') GROUP BY channel ORDER BY channel`,
          )
        ).rows.map((row) => ({ channel: row.channel, pending: row.pending, failed: row.failed })),
      ),

    requestPairing: (input) =>
      write('record a pairing request', async (query): Promise<PairingOutcome> => {
        if (await isApproved(query, input.channel, input.accountId, input.senderId)) return { status: 'approved' };
        await query('DELETE FROM pairing_requests WHERE expires_at <= $1', [input.now]);
        const existing = await pairing(
          query,
          (await query<PairingRow>('SELECT * FROM pairing_requests WHERE channel = $1 AND account_id = $2 AND sender_id = $3', [input.channel, input.accountId, input.senderId]))
            .rows[0],
        );
        if (existing) return { status: 'pending', request: toPairingRequest(existing) };
        const count = (await query<{ count: number }>('SELECT COUNT(*) AS count FROM pairing_requests WHERE channel = $1 AND account_id = $2', [input.channel, input.accountId]))
          .rows[0]?.count ?? 0;
        if (count >= input.maxPending) return { status: 'full' };
        const row = await query<PairingRow>(
          `INSERT INTO pairing_requests (code, channel, account_id, sender_id, sender_name, chat_id, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
          [input.code, input.channel, input.accountId, input.senderId, input.senderName, input.chatId, input.now, input.now + input.ttlMs],
        );
        return { status: 'created', request: toPairingRequest(row.rows[0] as PairingRow) };
      }),
    listPairingRequests: (now) =>
      read('list pairing requests', async (query) => {
        const rows = (await query<PairingRow>('SELECT * FROM pairing_requests WHERE expires_at > $1 ORDER BY created_at, code', [now])).rows;
        const live: PairingRow[] = [];
        for (const row of rows) if (await pairing(query, row)) live.push(row);
        return live.map(toPairingRequest);
      }),
    approvePairing: (code, now) =>
      write('approve a pairing request', async (query) => {
        const row = await liveByCode(query, code, now);
        if (!row) return null;
        await query('DELETE FROM pairing_requests WHERE code = $1', [row.code]);
        await query(
          `INSERT INTO approved_senders (channel, account_id, sender_id, sender_name, approved_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (channel, account_id, sender_id) DO UPDATE SET sender_name = excluded.sender_name, approved_at = excluded.approved_at`,
          [row.channel, row.account_id, row.sender_id, row.sender_name, now],
        );
        return toPairingRequest(row);
      }),
    denyPairing: (code, now) =>
      write('deny a pairing request', async (query) => {
        const row = await liveByCode(query, code, now);
        if (!row) return null;
        await query('DELETE FROM pairing_requests WHERE code = $1', [row.code]);
        return toPairingRequest(row);
      }),
    isApprovedSender: (channel, accountId, senderId) => read('check an approved sender', (query) => isApproved(query, channel, accountId, senderId)),
    listApprovedSenders: () =>
      read('list approved senders', async (query) => {
        const rows = (await query('SELECT * FROM approved_senders ORDER BY approved_at DESC, channel, account_id, sender_id')).rows;
        const admitted: Record<string, unknown>[] = [];
        for (const row of rows) if (await quarantine.admit(query, 'approved_senders', senderKey(row), rowProblem(row, approvedSenderRowSchema))) admitted.push(row);
        return admitted.map(toApprovedSender);
      }),
    revokeApprovedSender: (channel, accountId, senderId) =>
      write('revoke an approved sender', async (query) =>
        ((await query('DELETE FROM approved_senders WHERE channel = $1 AND account_id = $2 AND sender_id = $3', [channel, accountId, senderId])).rowCount ?? 0) > 0,
      ),
    readChannelCursor: (key) =>
      read('read a channel cursor', async (query) => (await query<{ value: string }>('SELECT value FROM channel_cursors WHERE key = $1', [key])).rows[0]?.value ?? null),
    writeChannelCursor: (key, value, now) =>
      write('save a channel cursor', async (query) => {
        await query(
          'INSERT INTO channel_cursors (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
          [key, value, now],
        );
      }),

    requestApproval: (input) =>
      write('record an approval request', async (query) => {
        const existing = await query<ApprovalRow>(
          'SELECT * FROM exec_approvals WHERE run_id = $1 AND tool = $2 AND command = $3 AND cwd = $4 ORDER BY created_at DESC LIMIT 1',
          [input.runId, input.tool, input.command, input.cwd],
        );
        const same = await soundApproval(query, existing.rows[0]);
        if (same) return toApproval(same);
        const inserted = await query<ApprovalRow>(
          `INSERT INTO exec_approvals (id, run_id, session_key, agent_id, tool, command, cwd, can_always, reply_to, status, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11) RETURNING *`,
          [
            input.id,
            input.runId,
            input.sessionKey,
            input.agentId,
            input.tool,
            input.command,
            input.cwd,
            input.canAlways ? 1 : 0,
            input.replyTo ? JSON.stringify(input.replyTo) : null,
            input.now,
            input.now + input.ttlMs,
          ],
        );
        return toApproval(inserted.rows[0] as ApprovalRow);
      }),
    decideApproval: (id, decision) =>
      write('decide an approval request', async (query) => {
        const row = await soundApproval(query, (await query<ApprovalRow>('SELECT * FROM exec_approvals WHERE id = $1 FOR UPDATE', [id])).rows[0]);
        if (!row) return null;
        if (row.status !== 'pending') return toApproval(row);
        const always = decision.status === 'approved' && decision.always === true && row.can_always === 1;
        const decided = await query<ApprovalRow>(
          `UPDATE exec_approvals SET status = $1, always = $2, decided_by = $3, decided_at = $4 WHERE id = $5 AND status = 'pending' RETURNING *`,
          [decision.status, always ? 1 : 0, decision.by, decision.now, id],
        );
        if (always) {
          await query('INSERT INTO exec_allowed_commands (agent_id, pattern, approval_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
            row.agent_id,
            row.command,
            row.id,
            decision.now,
          ]);
        }
        return toApproval(decided.rows[0] as ApprovalRow);
      }),
    getApproval: (id) =>
      read('read an approval request', async (query) => {
        const row = await soundApproval(query, (await query<ApprovalRow>('SELECT * FROM exec_approvals WHERE id = $1', [id])).rows[0]);
        return row ? toApproval(row) : null;
      }),
    listApprovals: ({ pending, limit }) =>
      read('list approval requests', async (query) => {
        const rows = (
          await query<ApprovalRow>(
            pending
              ? `SELECT * FROM exec_approvals WHERE status = 'pending' ORDER BY created_at DESC, id LIMIT $1`
              : 'SELECT * FROM exec_approvals ORDER BY created_at DESC, id LIMIT $1',
            [limit],
          )
        ).rows;
        const admitted: ApprovalRow[] = [];
        for (const row of rows) {
          const sound = await soundApproval(query, row);
          if (sound) admitted.push(sound);
        }
        return admitted.map(toApproval);
      }),
    listAllowedCommands: () =>
      read('list allowed commands', async (query) =>
        (
          await query<{ agent_id: string; pattern: string; approval_id: string | null; created_at: number }>(
            'SELECT agent_id, pattern, approval_id, created_at FROM exec_allowed_commands ORDER BY created_at, pattern',
          )
        ).rows.map((row) => ({ agentId: row.agent_id, pattern: row.pattern, approvalId: row.approval_id, createdAt: row.created_at })),
      ),
  };
}

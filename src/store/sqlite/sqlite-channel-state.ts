import type BetterSqlite3 from 'better-sqlite3';
import type { RowQuarantine } from './sqlite-quarantine.js';
import { approvedSenderRowSchema, pairingRowSchema, rowProblem } from './stored-row-schemas.js';
import type { PairingOutcome, Store } from '../../contracts/store.js';
import { OUTBOX_COLUMNS, type OutboxRow, type PairingRow, toApprovedSender, toOutboxEntry, toPairingRequest } from '../row-mappers.js';

/** How the store runs a read (`run`) and a grouped, committed write (`write`). */
export interface StatementRunner {
  run<T>(action: string, fn: () => T): Promise<T>;
  write<T>(action: string, fn: () => T): Promise<T>;
}

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
>;

/** The outbox, pairing and channel cursor part of the SQLite store. */
export function createSqliteChannelState(db: BetterSqlite3.Database, runner: StatementRunner, quarantine: RowQuarantine): ChannelStateMethods {
  /** A pairing row that passes its schema, or undefined (marked and skipped). */
  const pairing = (row: PairingRow | undefined): PairingRow | undefined =>
    row && quarantine.admit('pairing_requests', row.code, rowProblem(row, pairingRowSchema)) ? row : undefined;
  const sql = {
    insertOutbox: db.prepare(
      `INSERT INTO outbox (run_id, session_key, channel, target, text, status, attempts, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)
       RETURNING ${OUTBOX_COLUMNS}`,
    ),
    undelivered: db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY id LIMIT ?`),
    progress: db.prepare(`UPDATE outbox SET chunks_sent = MAX(chunks_sent, ?) WHERE id = ?`),
    markDelivered: db.prepare(
      `UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, next_attempt_at = NULL WHERE id = ?`,
    ),
    retryLater: db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND status = 'pending'`),
    giveUp: db.prepare(`UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = NULL WHERE id = ?`),
    counts: db.prepare(
      `SELECT channel, SUM(status = 'pending') AS pending, SUM(status = 'failed') AS failed FROM outbox
       WHERE status IN ('pending', 'failed') GROUP BY channel ORDER BY channel`,
    ),
    forgetExpired: db.prepare('DELETE FROM pairing_requests WHERE expires_at <= ?'),
    pairingBySender: db.prepare('SELECT * FROM pairing_requests WHERE channel = ? AND account_id = ? AND sender_id = ?'),
    pendingCount: db.prepare('SELECT COUNT(*) AS count FROM pairing_requests WHERE channel = ? AND account_id = ?'),
    insertPairing: db.prepare(
      `INSERT INTO pairing_requests (code, channel, account_id, sender_id, sender_name, chat_id, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    ),
    listPairing: db.prepare('SELECT * FROM pairing_requests WHERE expires_at > ? ORDER BY created_at, code'),
    pairingByCode: db.prepare('SELECT * FROM pairing_requests WHERE code = ? AND expires_at > ?'),
    deletePairing: db.prepare('DELETE FROM pairing_requests WHERE code = ?'),
    approve: db.prepare(
      `INSERT INTO approved_senders (channel, account_id, sender_id, sender_name, approved_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET sender_name = excluded.sender_name, approved_at = excluded.approved_at`,
    ),
    isApproved: db.prepare('SELECT * FROM approved_senders WHERE channel = ? AND account_id = ? AND sender_id = ?'),
    listApproved: db.prepare('SELECT * FROM approved_senders ORDER BY approved_at DESC, channel, account_id, sender_id'),
    revoke: db.prepare('DELETE FROM approved_senders WHERE channel = ? AND account_id = ? AND sender_id = ?'),
    readCursor: db.prepare('SELECT value FROM channel_cursors WHERE key = ?'),
    writeCursor: db.prepare('INSERT INTO channel_cursors (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at'),
  };

  /** Whether the sender is approved by a row that passes its schema (a failing one is marked and skipped). */
  const isApproved = (channel: string, accountId: string, senderId: string): boolean => {
    const row = sql.isApproved.get(channel, accountId, senderId) as Record<string, unknown> | undefined;
    return row !== undefined && quarantine.admit('approved_senders', `${channel}:${accountId}:${senderId}`, rowProblem(row, approvedSenderRowSchema));
  };

  return {
    enqueueOutbox: (input) =>
      runner.write('queue a message', () =>
        toOutboxEntry(sql.insertOutbox.get(input.runId, input.sessionKey, input.channel, input.target, input.text, input.now) as OutboxRow),
      ),
    undeliveredOutbox: (limit) => runner.run('list undelivered messages', () => (sql.undelivered.all(limit) as OutboxRow[]).map(toOutboxEntry)),
    recordOutboxProgress: (outboxId, chunksSent) =>
      runner.write('record delivery progress', () => void sql.progress.run(chunksSent, outboxId)),
    markDelivered: (outboxId, now) => runner.write('mark a message delivered', () => void sql.markDelivered.run(now, outboxId)),
    recordDeliveryFailure: (outboxId, failure) =>
      runner.write('record a delivery failure', () => {
        if (failure.retryAt === null) sql.giveUp.run(failure.error, outboxId);
        else sql.retryLater.run(failure.error, failure.retryAt, outboxId);
      }),
    outboxCounts: () =>
      runner.run('count queued messages', () =>
        (sql.counts.all() as { channel: string; pending: number; failed: number }[]).map((row) => ({
          channel: row.channel,
          pending: row.pending,
          failed: row.failed,
        })),
      ),
    requestPairing: (input) =>
      runner.write('record a pairing request', (): PairingOutcome => {
        if (isApproved(input.channel, input.accountId, input.senderId)) return { status: 'approved' };
        sql.forgetExpired.run(input.now);
        const existing = pairing(sql.pairingBySender.get(input.channel, input.accountId, input.senderId) as PairingRow | undefined);
        if (existing) return { status: 'pending', request: toPairingRequest(existing) };
        const { count } = sql.pendingCount.get(input.channel, input.accountId) as { count: number };
        if (count >= input.maxPending) return { status: 'full' };
        const row = sql.insertPairing.get(
          input.code,
          input.channel,
          input.accountId,
          input.senderId,
          input.senderName,
          input.chatId,
          input.now,
          input.now + input.ttlMs,
        ) as PairingRow;
        return { status: 'created', request: toPairingRequest(row) };
      }),
    listPairingRequests: (now) => runner.run('list pairing requests', () => (sql.listPairing.all(now) as PairingRow[]).filter((row) => pairing(row) !== undefined).map(toPairingRequest)),
    approvePairing: (code, now) =>
      runner.write('approve a pairing request', () => {
        const row = pairing(sql.pairingByCode.get(code.trim().toUpperCase(), now) as PairingRow | undefined);
        if (!row) return null;
        sql.deletePairing.run(row.code);
        sql.approve.run(row.channel, row.account_id, row.sender_id, row.sender_name, now);
        return toPairingRequest(row);
      }),
    denyPairing: (code, now) =>
      runner.write('deny a pairing request', () => {
        const row = pairing(sql.pairingByCode.get(code.trim().toUpperCase(), now) as PairingRow | undefined);
        if (!row) return null;
        sql.deletePairing.run(row.code);
        return toPairingRequest(row);
      }),
    isApprovedSender: (channel, accountId, senderId) =>
      runner.run('check an approved sender', () => isApproved(channel, accountId, senderId)),
    listApprovedSenders: () =>
      runner.run('list approved senders', () =>
        (sql.listApproved.all() as Record<string, unknown>[])
          .filter((row) => quarantine.admit('approved_senders', `${row.channel}:${row.account_id}:${row.sender_id}`, rowProblem(row, approvedSenderRowSchema)))
          .map(toApprovedSender),
      ),
    revokeApprovedSender: (channel, accountId, senderId) =>
      runner.write('revoke an approved sender', () => sql.revoke.run(channel, accountId, senderId).changes > 0),
    readChannelCursor: (key) =>
      runner.run('read a channel cursor', () => (sql.readCursor.get(key) as { value: string } | undefined)?.value ?? null),
    writeChannelCursor: (key, value, now) =>
      runner.write('save a channel cursor', () => {
        sql.writeCursor.run(key, value, now);
      }),
  };
}

import type BetterSqlite3 from 'better-sqlite3';
import type { Store } from '../../contracts/store.js';
import { type ApprovalRow, toApproval } from '../row-mappers.js';
import type { StatementRunner } from './sqlite-channel-state.js';
import type { RowQuarantine } from './sqlite-quarantine.js';
import { approvalRowProblem } from './stored-row-schemas.js';

type ApprovalMethods = Pick<Store, 'requestApproval' | 'decideApproval' | 'getApproval' | 'listApprovals' | 'listAllowedCommands'>;

/**
 * Exec approvals (docs/tools.md, "Approvals"): the requests and the commands allowed for good. A
 * request row that fails its schema is marked in `quarantined_rows` and treated as absent: it is
 * neither listed nor decided, so a damaged reply target or status is never half-loaded.
 */
export function createSqliteApprovals(db: BetterSqlite3.Database, runner: StatementRunner, quarantine: RowQuarantine): ApprovalMethods {
  const sql = {
    sameRequest: db.prepare('SELECT * FROM exec_approvals WHERE run_id = ? AND tool = ? AND command = ? AND cwd = ? ORDER BY created_at DESC LIMIT 1'),
    insert: db.prepare(
      `INSERT INTO exec_approvals (id, run_id, session_key, agent_id, tool, command, cwd, can_always, reply_to, status, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING *`,
    ),
    byId: db.prepare('SELECT * FROM exec_approvals WHERE id = ?'),
    decide: db.prepare(`UPDATE exec_approvals SET status = ?, always = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending' RETURNING *`),
    allow: db.prepare('INSERT OR IGNORE INTO exec_allowed_commands (agent_id, pattern, approval_id, created_at) VALUES (?, ?, ?, ?)'),
    pending: db.prepare(`SELECT * FROM exec_approvals WHERE status = 'pending' ORDER BY created_at DESC, id LIMIT ?`),
    all: db.prepare('SELECT * FROM exec_approvals ORDER BY created_at DESC, id LIMIT ?'),
    allowed: db.prepare('SELECT agent_id, pattern, approval_id, created_at FROM exec_allowed_commands ORDER BY created_at, pattern'),
  };
  const sound = (row: ApprovalRow | undefined): row is ApprovalRow => row !== undefined && quarantine.admit('exec_approvals', row.id, approvalRowProblem(row));
  return {
    requestApproval: (input) =>
      runner.write('record an approval request', () => {
        const existing = sql.sameRequest.get(input.runId, input.tool, input.command, input.cwd) as ApprovalRow | undefined;
        if (sound(existing)) return toApproval(existing);
        const replyTo = input.replyTo ? JSON.stringify(input.replyTo) : null;
        const values = [input.id, input.runId, input.sessionKey, input.agentId, input.tool, input.command, input.cwd, input.canAlways ? 1 : 0, replyTo];
        return toApproval(sql.insert.get(...values, input.now, input.now + input.ttlMs) as ApprovalRow);
      }),
    decideApproval: (id, decision) =>
      runner.write('decide an approval request', () => {
        const row = sql.byId.get(id) as ApprovalRow | undefined;
        if (!sound(row)) return null;
        if (row.status !== 'pending') return toApproval(row);
        const always = decision.status === 'approved' && decision.always === true && row.can_always === 1;
        const decided = sql.decide.get(decision.status, always ? 1 : 0, decision.by, decision.now, id) as ApprovalRow;
        if (always) sql.allow.run(row.agent_id, row.command, row.id, decision.now);
        return toApproval(decided);
      }),
    getApproval: (id) => runner.run('read an approval request', () => {
      const row = sql.byId.get(id) as ApprovalRow | undefined;
      return sound(row) ? toApproval(row) : null;
    }),
    listApprovals: ({ pending, limit }) =>
      runner.run('list approval requests', () => ((pending ? sql.pending : sql.all).all(limit) as ApprovalRow[]).filter(sound).map(toApproval)),
    listAllowedCommands: () =>
      runner.run('list allowed commands', () =>
        (sql.allowed.all() as { agent_id: string; pattern: string; approval_id: string | null; created_at: number }[]).map((row) => ({
          agentId: row.agent_id,
          pattern: row.pattern,
          approvalId: row.approval_id,
          createdAt: row.created_at,
        })),
      ),
  };
}

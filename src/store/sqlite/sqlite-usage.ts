import type BetterSqlite3 from 'better-sqlite3';
import type { Store } from '../../contracts/store.js';
import { USAGE_SUMS, type UsageTotalsRow, toUsageTotals } from '../row-mappers.js';
import type { StatementRunner } from './sqlite-channel-state.js';

// Runs with usage that finished in the window; the runs_usage index covers every column read.
const WINDOW = 'FROM runs WHERE finished_at >= ? AND finished_at < ? AND input_tokens IS NOT NULL';

/** Usage per day, agent and model: three grouped reads of one index. */
export function createSqliteUsage(db: BetterSqlite3.Database, runner: StatementRunner): Pick<Store, 'usageSummary'> {
  const sql = {
    // SQLite's 'localtime' and JavaScript's Date both follow the process time zone, so these days match budgets' localDay.
    days: db.prepare(`SELECT date(finished_at / 1000, 'unixepoch', 'localtime') AS key, ${USAGE_SUMS} ${WINDOW} GROUP BY key ORDER BY key`),
    agents: db.prepare(`SELECT agent_id AS key, ${USAGE_SUMS} ${WINDOW} GROUP BY agent_id ORDER BY agent_id`),
    models: db.prepare(`SELECT model_ref AS key, ${USAGE_SUMS} ${WINDOW} GROUP BY model_ref ORDER BY model_ref`),
  };
  return {
    usageSummary: ({ since, until }) =>
      runner.run('summarise usage', () => {
        const read = (statement: BetterSqlite3.Statement) => statement.all(since, until) as UsageTotalsRow[];
        return {
          days: read(sql.days).map((row) => ({ day: row.key ?? '', ...toUsageTotals(row) })),
          agents: read(sql.agents).map((row) => ({ agentId: row.key ?? '', ...toUsageTotals(row) })),
          models: read(sql.models).map((row) => ({ model: row.key, ...toUsageTotals(row) })),
        };
      }),
  };
}

import type BetterSqlite3 from 'better-sqlite3';
import type { Store, UsageTotals } from '../../contracts/store.js';
import type { StatementRunner } from './sqlite-channel-state.js';

interface TotalsRow {
  key: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  runs: number;
}

const SUMS = 'SUM(input_tokens) AS input_tokens, SUM(COALESCE(output_tokens, 0)) AS output_tokens, SUM(COALESCE(cost_usd, 0)) AS cost_usd, COUNT(*) AS runs';
// Runs with usage that finished in the window; the runs_usage index covers every column read.
const WINDOW = 'FROM runs WHERE finished_at >= ? AND finished_at < ? AND input_tokens IS NOT NULL';

const totals = (row: TotalsRow): UsageTotals => ({ inputTokens: row.input_tokens, outputTokens: row.output_tokens, costUsd: row.cost_usd, runs: row.runs });

/** Usage per day, agent and model: three grouped reads of one index. */
export function createSqliteUsage(db: BetterSqlite3.Database, runner: StatementRunner): Pick<Store, 'usageSummary'> {
  const sql = {
    // SQLite's 'localtime' and JavaScript's Date both follow the process time zone, so these days match budgets' localDay.
    days: db.prepare(`SELECT date(finished_at / 1000, 'unixepoch', 'localtime') AS key, ${SUMS} ${WINDOW} GROUP BY key ORDER BY key`),
    agents: db.prepare(`SELECT agent_id AS key, ${SUMS} ${WINDOW} GROUP BY agent_id ORDER BY agent_id`),
    models: db.prepare(`SELECT model_ref AS key, ${SUMS} ${WINDOW} GROUP BY model_ref ORDER BY model_ref`),
  };
  return {
    usageSummary: ({ since, until }) =>
      runner.run('summarise usage', () => {
        const read = (statement: BetterSqlite3.Statement) => statement.all(since, until) as TotalsRow[];
        return {
          days: read(sql.days).map((row) => ({ day: row.key ?? '', ...totals(row) })),
          agents: read(sql.agents).map((row) => ({ agentId: row.key ?? '', ...totals(row) })),
          models: read(sql.models).map((row) => ({ model: row.key, ...totals(row) })),
        };
      }),
  };
}

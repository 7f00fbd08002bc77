import { useState } from 'preact/hooks';
import { Notice, Panel, Table } from '../parts';
import type { RpcClient } from '../rpc';
import { useRpc } from '../use-rpc';

interface Totals {
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  runs: number;
}

interface UsageReport {
  totals: Totals;
  days: Array<Totals & { day: string }>;
  agents: Array<Totals & { agentId: string }>;
  models: Array<Totals & { model: string | null }>;
}

type Metric = 'tokens' | 'costUsd';

interface Bar {
  label: string;
  value: number;
}

const PERIODS = [7, 14, 30, 90] as const;
const tokens = (value: number) => value.toLocaleString();
const usd = (value: number) => `$${value.toFixed(value > 0 && value < 1 ? 4 : 2)}`;
const show = (metric: Metric, value: number) => (metric === 'tokens' ? tokens(value) : usd(value));

/** Vertical bars, one per day, labelled below (every nth label when there are many). */
function DayChart({ bars, metric, title }: { bars: Bar[]; metric: Metric; title: string }) {
  const width = 640;
  const height = 200;
  const bottom = 22;
  const top = 16;
  const max = Math.max(...bars.map((bar) => bar.value), 0);
  const slot = width / Math.max(bars.length, 1);
  const every = Math.ceil(bars.length / 10);
  const total = bars.reduce((sum, bar) => sum + bar.value, 0);
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${show(metric, total)} in all, at most ${show(metric, max)} a day. The table below has each day.`} data-testid="usage-day-chart">
      <line class="axis" x1={0} x2={width} y1={height - bottom} y2={height - bottom} />
      {bars.map((bar, index) => {
        const barHeight = max > 0 ? ((height - bottom - top) * bar.value) / max : 0;
        const x = index * slot + slot * 0.15;
        return (
          <g key={bar.label}>
            <rect class="bar" x={x} y={height - bottom - barHeight} width={slot * 0.7} height={barHeight} data-value={bar.value}>
              <title>{`${bar.label}: ${show(metric, bar.value)}`}</title>
            </rect>
            {index % every === 0 && (
              <text class="tick" x={x + slot * 0.35} y={height - 6} text-anchor="middle">
                {bar.label.slice(5)}
              </text>
            )}
          </g>
        );
      })}
      {max > 0 && (
        <text class="tick" x={4} y={12}>
          {show(metric, max)}
        </text>
      )}
    </svg>
  );
}

/** Horizontal bars with their name and value written beside them. */
function RankChart({ bars, metric, title, testId }: { bars: Bar[]; metric: Metric; title: string; testId: string }) {
  const width = 440;
  const row = 28;
  const labelWidth = 140;
  const valueWidth = 80;
  const max = Math.max(...bars.map((bar) => bar.value), 0);
  const height = Math.max(bars.length, 1) * row;
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}. The table below has the same numbers.`} data-testid={testId}>
      {bars.map((bar, index) => {
        const barWidth = max > 0 ? ((width - labelWidth - valueWidth) * bar.value) / max : 0;
        const y = index * row;
        return (
          <g key={bar.label}>
            <text class="tick" x={labelWidth - 8} y={y + row * 0.65} text-anchor="end">
              {bar.label.length > 22 ? `${bar.label.slice(0, 21)}…` : bar.label}
            </text>
            <rect class="bar" x={labelWidth} y={y + 4} width={barWidth} height={row - 8} data-value={bar.value}>
              <title>{`${bar.label}: ${show(metric, bar.value)}`}</title>
            </rect>
            <text class="tick" x={labelWidth + barWidth + 6} y={y + row * 0.65}>
              {show(metric, bar.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

const columns = <T extends Totals>(first: string, name: (row: T) => string) => [
  { title: first, cell: (row: T) => name(row) },
  { title: 'Tokens', cell: (row: T) => tokens(row.tokens) },
  { title: 'In / out', cell: (row: T) => `${tokens(row.inputTokens)} / ${tokens(row.outputTokens)}` },
  { title: 'Cost', cell: (row: T) => usd(row.costUsd) },
  { title: 'Runs', cell: (row: T) => String(row.runs) },
];

/** Tokens and cost per day, agent and model, as bars and as tables with the same numbers. */
export function Usage({ client }: { client: RpcClient }) {
  const [days, setDays] = useState<number>(14);
  const [metric, setMetric] = useState<Metric>('tokens');
  const usage = useRpc<UsageReport>(client, 'usage.summary', { days }, ['chat']);
  const data = usage.data;
  const what = metric === 'tokens' ? 'Tokens' : 'Cost';
  const modelName = (row: { model: string | null }) => row.model ?? '(no model)';
  return (
    <div class="stack">
      <div class="controls">
        <label>
          Period{' '}
          <select value={String(days)} onChange={(event) => setDays(Number((event.target as HTMLSelectElement).value))}>
            {PERIODS.map((period) => (
              <option key={period} value={String(period)}>
                Last {period} days
              </option>
            ))}
          </select>
        </label>
        <fieldset class="segmented">
          <legend>Chart</legend>
          {(['tokens', 'costUsd'] as const).map((choice) => (
            <label key={choice}>
              <input type="radio" name="usage-metric" value={choice} checked={metric === choice} onChange={() => setMetric(choice)} /> {choice === 'tokens' ? 'Tokens' : 'Cost'}
            </label>
          ))}
        </fieldset>
        {data && (
          <p class="detail" data-testid="usage-total">
            In all: {tokens(data.totals.tokens)} tokens, {usd(data.totals.costUsd)}, {data.totals.runs} runs.
          </p>
        )}
      </div>
      <Notice error={usage.error} loading={usage.loading && !data} />
      {data && (
        <>
          <Panel title="Per day" id="usage-days">
            {data.totals.runs === 0 && <p class="notice">No runs with usage in this period.</p>}
            <DayChart bars={data.days.map((row) => ({ label: row.day, value: row[metric] }))} metric={metric} title={`${what} per day`} />
            <Table label="Usage per day" rows={data.days} rowKey={(row) => row.day} columns={columns<UsageReport['days'][number]>('Day', (row) => row.day)} />
          </Panel>
          <div class="grid">
            <Panel title="Per agent" id="usage-agents">
              {data.agents.length === 0 ? (
                <p class="notice">No runs with usage in this period.</p>
              ) : (
                <>
                  <RankChart bars={data.agents.map((row) => ({ label: row.agentId, value: row[metric] }))} metric={metric} title={`${what} per agent`} testId="usage-agent-chart" />
                  <Table label="Usage per agent" rows={data.agents} rowKey={(row) => row.agentId} columns={columns<UsageReport['agents'][number]>('Agent', (row) => row.agentId)} />
                </>
              )}
            </Panel>
            <Panel title="Per model" id="usage-models">
              {data.models.length === 0 ? (
                <p class="notice">No runs with usage in this period.</p>
              ) : (
                <>
                  <RankChart bars={data.models.map((row) => ({ label: modelName(row), value: row[metric] }))} metric={metric} title={`${what} per model`} testId="usage-model-chart" />
                  <Table label="Usage per model" rows={data.models} rowKey={modelName} columns={columns<UsageReport['models'][number]>('Model', modelName)} />
                </>
              )}
            </Panel>
          </div>
        </>
      )}
    </div>
  );
}

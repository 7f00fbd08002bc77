import type { ComponentChildren } from 'preact';

export type Light = 'ok' | 'degraded' | 'down' | 'unknown' | 'starting';

/** A traffic light with its word beside it (colour is never the only signal). */
export function Status({ status, label }: { status: string; label?: string }) {
  const light = (['ok', 'degraded', 'down', 'starting'].includes(status) ? status : 'unknown') as Light;
  return (
    <span class={`status status-${light}`} data-status={light}>
      <span class="dot" aria-hidden="true" />
      {label ?? status}
    </span>
  );
}

export function Panel({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="panel" aria-labelledby={id ? `${id}-title` : undefined} data-testid={id}>
      <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
      {children}
    </section>
  );
}

/** Loading, an error, or an empty list, said plainly. */
export function Notice({ error, loading, empty }: { error?: string | null; loading?: boolean; empty?: string | false }) {
  if (error) return <p class="notice notice-error" role="alert">{error}</p>;
  if (loading) return <p class="notice">Loading…</p>;
  if (empty) return <p class="notice">{empty}</p>;
  return null;
}

export function ago(at: number | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined) return '—';
  const seconds = Math.round((now - at) / 1000);
  const future = seconds < 0;
  const span = Math.abs(seconds);
  const text = span < 60 ? `${span} s` : span < 3600 ? `${Math.round(span / 60)} min` : span < 86_400 ? `${Math.round(span / 3600)} h` : `${Math.round(span / 86_400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function when(at: number | null | undefined): string {
  return at === null || at === undefined ? '—' : new Date(at).toLocaleString();
}

export interface Column<T> {
  title: string;
  cell(row: T): ComponentChildren;
}

/** A table that scrolls sideways on narrow screens. */
export function Table<T>({ rows, columns, label, rowKey }: { rows: readonly T[]; columns: Column<T>[]; label: string; rowKey(row: T): string }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.title}>
                {column.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((column) => (
                <td key={column.title}>{column.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * What an OpenClaw import did, item by item: each entry names what it is and where it came from
 * (a file, and a key path inside it), and for a skipped item why it was not mapped.
 */

export type ReportStatus = 'imported' | 'already' | 'skipped' | 'note';

export interface ReportItem {
  status: ReportStatus;
  /** What the item is, e.g. `agent main`, `cron job nightly`. */
  what: string;
  /** Where it came from: a path, optionally `#key.path`. */
  source: string;
  /** Why it was skipped, or a note about how it was imported. */
  reason?: string;
}

/** An append-only list of report items (a value, created per import run). */
export interface ImportReport {
  items: ReportItem[];
  add(item: ReportItem): void;
}

export function createImportReport(): ImportReport {
  const items: ReportItem[] = [];
  return { items, add: (item) => items.push(item) };
}

const HEADINGS: Record<ReportStatus, string> = {
  imported: 'Imported',
  already: 'Already imported (unchanged)',
  skipped: 'Not imported',
  note: 'Notes',
};

/** The report as text, grouped by status, one line per item. */
export function formatImportReport(items: readonly ReportItem[], dryRun: boolean): string {
  const lines: string[] = [dryRun ? 'Dry run: nothing was written. The import would do this:' : 'OpenClaw import:'];
  for (const status of ['imported', 'already', 'skipped', 'note'] as const) {
    const group = items.filter((item) => item.status === status);
    if (group.length === 0) continue;
    lines.push(`${dryRun && status === 'imported' ? 'Would import' : HEADINGS[status]} (${group.length}):`);
    for (const item of group) lines.push(`  ${item.what}  [${item.source}]${item.reason ? ` — ${item.reason}` : ''}`);
  }
  if (items.length === 0) lines.push('  nothing found to import');
  return `${lines.join('\n')}\n`;
}

/**
 * Merges an imported config fragment into the existing Hearth config without overwriting: a
 * value the existing config already sets differently is kept and reported as a conflict. Pure.
 */

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface MergeConflict {
  path: string;
  existing: unknown;
  imported: unknown;
}

export interface MergeResult {
  merged: Json;
  conflicts: MergeConflict[];
  /** Whether the merge added anything. */
  changed: boolean;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function mergeConfig(existing: Json, imported: Json): MergeResult {
  const result: MergeResult = { merged: {}, conflicts: [], changed: false };
  result.merged = mergeObject(existing, imported, '', result);
  return result;
}

function mergeObject(existing: Json, imported: Json, prefix: string, result: MergeResult): Json {
  const merged: Json = { ...existing };
  for (const [key, value] of Object.entries(imported)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const current = existing[key];
    if (current === undefined) {
      merged[key] = value;
      result.changed = true;
    } else if (isObject(current) && isObject(value)) merged[key] = mergeObject(current, value, path, result);
    else if (Array.isArray(current) && Array.isArray(value) && key === 'bindings') {
      const added = value.filter((item) => !current.some((have) => same(have, item)));
      merged[key] = [...current, ...added];
      if (added.length > 0) result.changed = true;
    } else if (!same(current, value)) result.conflicts.push({ path, existing: current, imported: value });
  }
  return merged;
}

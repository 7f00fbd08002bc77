import { z } from 'zod';
import { cell, isRecord, type JsonSchemaNode, typeText } from './schema-text.js';

/** One row of the config reference: a key path and what the schema says about it. */
interface KeyRow {
  path: string;
  type: string;
  defaultText: string;
  description: string;
}

interface Walk {
  rows: KeyRow[];
  /** Key paths with no description (`.describe()` in the schema), which the reference cannot explain. */
  undocumented: string[];
}

/**
 * The config reference in Markdown, one section per top-level key, read from the zod schema:
 * every key path, its type and allowed values, its default and its description.
 */
export function renderConfigReference(schema: z.ZodType): { text: string; undocumented: string[] } {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override: keepDefault }) as JsonSchemaNode;
  const undocumented: string[] = [];
  const sections: string[] = [];
  for (const [key, node] of Object.entries(root.properties ?? {})) {
    const section: Walk = { rows: [], undocumented };
    const isContainer = node.properties !== undefined;
    if (isContainer) {
      for (const [child, childNode] of Object.entries(node.properties ?? {})) {
        collect(childNode, `${key}.${child}`, node.required?.includes(child) ?? false, node, section);
      }
    } else {
      collect(node, key, root.required?.includes(key) ?? false, root, section);
    }
    const intro = isContainer && node.description ? `${cell(node.description)}\n\n` : '';
    sections.push(`### \`${key}\`\n\n${intro}${table(section.rows)}`);
  }
  return { text: sections.join('\n\n'), undocumented };
}

/**
 * zod leaves out the default of a schema that transforms its input (e.g. a list of bindings whose
 * peer ids are turned into strings); a person writing the file still gets that default.
 */
function keepDefault(context: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  const definition = (context.zodSchema as { _zod?: { def?: { type?: string; defaultValue?: unknown } } })._zod?.def;
  if (definition?.type === 'default' && context.jsonSchema.default === undefined) {
    context.jsonSchema.default = JSON.parse(JSON.stringify(definition.defaultValue)) as unknown;
  }
}

function collect(node: JsonSchemaNode, path: string, required: boolean, parent: JsonSchemaNode, walk: Walk): void {
  const description = node.description ?? '';
  if (node.properties !== undefined) {
    if (description) walk.rows.push({ path, type: 'object', defaultText: '', description });
    for (const [key, child] of Object.entries(node.properties)) {
      collect(child, `${path}.${key}`, node.required?.includes(key) ?? false, node, walk);
    }
    return;
  }
  const entry = isRecord(node) ? (node.additionalProperties as JsonSchemaNode) : node.type === 'array' ? node.items : undefined;
  if (entry?.properties !== undefined) {
    const childPath = isRecord(node) ? `${path}.<${node.keyName ?? 'name'}>` : `${path}[]`;
    const sameAsParent = isRecord(node) && sharesKeysWith(entry, parent);
    const note = sameAsParent ? ` Its keys: those of \`${path.slice(0, path.lastIndexOf('.'))}\` above, except \`${path.slice(path.lastIndexOf('.') + 1)}\`.` : '';
    walk.rows.push({ path, type: isRecord(node) ? 'map of objects' : 'list of objects', defaultText: defaultText(node, required), description: `${description}${note}`.trim() });
    if (!description) walk.undocumented.push(path);
    if (!sameAsParent) collect(entry, childPath, true, node, walk);
    return;
  }
  walk.rows.push({ path, type: typeText(node), defaultText: defaultText(node, required), description });
  if (!description) walk.undocumented.push(path);
}

/** True when every key of `entry` is a key of `parent` with the same schema (a per-account override block). */
function sharesKeysWith(entry: JsonSchemaNode, parent: JsonSchemaNode): boolean {
  const parentKeys = parent.properties ?? {};
  return Object.entries(entry.properties ?? {}).every(([key, child]) => key in parentKeys && JSON.stringify(parentKeys[key]) === JSON.stringify(child));
}

function defaultText(node: JsonSchemaNode, required: boolean): string {
  if (node.default !== undefined) return `\`${JSON.stringify(node.default)}\``;
  return required ? 'required' : '—';
}

function table(rows: readonly KeyRow[]): string {
  const lines = ['| key | type | default | description |', '|---|---|---|---|'];
  for (const row of rows) {
    lines.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.defaultText)} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

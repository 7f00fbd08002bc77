import JSON5 from 'json5';
import { type ConfigIssue, formatPath } from './config-issues.js';
import { type PathSegment, type SourceNode, scanJson5 } from './json5-locator.js';


/**
 * What a secret's value is replaced with when the config is shown. Written back unchanged, it
 * stands for the value the file has at that key now (see `unmaskConfigText`).
 */
export const SECRET_MASK = '[hidden secret]';

const SECRET_KEY = /token|secret|password|passphrase|api[-_]?key|authorization|credential|private[-_]?key|cookie/iu;
const SECRET_MAPS: readonly string[] = ['headers', 'env'];
/** A secret written as `key: "value"` on one line, for text that does not parse. */
const SECRET_LINE = String.raw`(["']?[A-Za-z0-9_-]*(?:token|secret|password|passphrase|api[-_]?key|authorization)[A-Za-z0-9_-]*["']?\s*:\s*)(["'])((?:\\.|(?!\2).)*)\2`;

/**
 * Whether a value at this key path is a credential: its key names one (`apiKey`, `botToken`,
 * `password`, `signingSecret`, …) or it sits in a map of HTTP headers or environment variables.
 */
export function isSecretPath(path: readonly PathSegment[]): boolean {
  const keys = path.filter((segment): segment is string => typeof segment === 'string');
  const last = keys[keys.length - 1];
  if (last !== undefined && SECRET_KEY.test(last)) return true;
  return keys.slice(0, -1).some((key) => SECRET_MAPS.includes(key));
}

function decodeString(raw: string): string | undefined {
  try {
    const value: unknown = JSON5.parse(raw);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces every known secret anywhere in `text` (a comment, a message) with the mask. */
export function replaceKnown(text: string, known: readonly string[]): string {
  let result = text;
  for (const secret of known) if (secret.length >= 6) result = result.split(secret).join(SECRET_MASK);
  return result;
}

function shouldMask(node: SourceNode, raw: string, known: readonly string[]): boolean {
  const value = decodeString(raw);
  if (value === undefined || value === '' || value === SECRET_MASK) return false;
  // A `${VAR}` reference names where the secret comes from; it is not the secret.
  if (isSecretPath(node.path) && !raw.includes('${')) return true;
  return known.some((secret) => secret.length >= 6 && value.includes(secret));
}

/**
 * The config file's text with every secret value replaced by `"[hidden secret]"`: string values
 * under a secret-looking key (unless they are `${VAR}` references) and any string holding one of
 * the `known` credentials. Known credentials elsewhere (a comment) are masked too. Text that does
 * not parse is masked line by line. Lines stay where they were.
 */
export function maskConfigText(text: string, known: readonly string[]): string {
  let nodes: readonly SourceNode[];
  try {
    JSON5.parse(text);
    nodes = scanJson5(text).nodes;
  } catch {
    return replaceKnown(text.replace(new RegExp(SECRET_LINE, 'giu'), (_match, key: string, quote: string) => `${key}${quote}${SECRET_MASK}${quote}`), known);
  }
  let masked = text;
  const strings = nodes.filter((node) => node.kind === 'string').reverse();
  for (const node of strings) {
    const raw = text.slice(node.start, node.end);
    if (shouldMask(node, raw, known)) masked = `${masked.slice(0, node.start)}${JSON.stringify(SECRET_MASK)}${masked.slice(node.end)}`;
  }
  return replaceKnown(masked, known);
}

/** A copy of a parsed config (or any JSON value) with the same secrets masked as `maskConfigText` does. */
export function maskConfigValue(value: unknown, known: readonly string[], path: PathSegment[] = []): unknown {
  if (typeof value === 'string') {
    if (value !== '' && isSecretPath(path)) return SECRET_MASK;
    return replaceKnown(value, known);
  }
  if (Array.isArray(value)) return value.map((item, index) => maskConfigValue(item, known, [...path, index]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskConfigValue(item, known, [...path, key])]));
  }
  return value;
}

function pathId(path: readonly PathSegment[]): string {
  return JSON.stringify(path);
}

/**
 * Puts secrets back into an edited text: every string value that is exactly `"[hidden secret]"`
 * becomes the value written at the same key in `current` (the file as it is now), so an edit of
 * the masked text keeps each secret it did not touch. A mask at a key where `current` has no
 * string is an issue (there is no value to keep), never written to the file. Text that does not
 * parse comes back as it is; validating it reports the syntax error.
 */
export function unmaskConfigText(text: string, current: string, file: string): { text: string; issues: ConfigIssue[] } {
  let nodes: readonly SourceNode[];
  try {
    JSON5.parse(text);
    nodes = scanJson5(text).nodes;
  } catch {
    return { text, issues: [] };
  }
  const masks = nodes.filter((node) => node.kind === 'string' && decodeString(text.slice(node.start, node.end)) === SECRET_MASK);
  if (masks.length === 0) return { text, issues: [] };
  const originals = new Map<string, string>();
  try {
    for (const node of scanJson5(current).nodes) if (node.kind === 'string') originals.set(pathId(node.path), current.slice(node.start, node.end));
  } catch {
    // The file on disk does not parse: no secret can be kept, and each mask is reported below.
  }
  const issues: ConfigIssue[] = [];
  let result = text;
  for (const node of [...masks].reverse()) {
    const original = originals.get(pathId(node.path));
    if (original !== undefined && decodeString(original) !== SECRET_MASK) {
      result = `${result.slice(0, node.start)}${original}${result.slice(node.end)}`;
      continue;
    }
    const position = node.key ?? node.value;
    issues.unshift({
      file,
      line: position.line,
      column: position.column,
      path: formatPath(node.path),
      message: `"${SECRET_MASK}" stands for a secret the file has at this key, but the file has none here`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the suggestion names the config's own ${VAR} syntax
      suggestion: 'write the value itself, or a ${VAR} reference to the gateway\'s environment',
    });
  }
  return { text: result, issues };
}

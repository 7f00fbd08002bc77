import type { z } from 'zod';
import type { CrossFieldProblem } from './cross-field-checks.js';
import type { PathSegment } from './json5-locator.js';
import { validKeysAt } from './schema-keys.js';
import { closestMatch } from './suggest.js';

type ZodIssue = z.ZodError['issues'][number];

/**
 * Turns one zod issue into config problems keyed by path (positions are added by the caller):
 * one per unknown key (path = the unknown key itself, with the nearest valid key of that object as
 * a suggestion), the nearest allowed option for a mistyped enum value, and readable messages for
 * unions and record keys. `input` is the value that was validated; `schema` the schema it was
 * validated with.
 */
export function describeZodIssue(issue: ZodIssue, input: unknown, schema: z.ZodType): CrossFieldProblem[] {
  const path = issue.path.map(toSegment);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const valid = validKeysAt(schema, path) ?? [];
      return issue.keys.map((key) => {
        const near = closestMatch(key, valid);
        return {
          path: [...path, key],
          message: 'unknown key',
          ...(near === undefined ? {} : { suggestion: `did you mean "${near}"?` }),
        };
      });
    }
    case 'invalid_value': {
      const actual = valueAt(input, path);
      const options = issue.values.filter((option): option is string => typeof option === 'string');
      const near = typeof actual === 'string' ? closestMatch(actual, options) : undefined;
      return [{ path, message: issue.message, ...(near === undefined ? {} : { suggestion: `did you mean "${near}"?` }) }];
    }
    case 'invalid_union': {
      const alternatives = issue.errors.map((nested) => nested.map((inner) => inner.message).join('; ')).filter(Boolean);
      const message = alternatives.length === 0 ? issue.message : `${issue.message}: none of these matched: ${alternatives.join(' | ')}`;
      return [{ path, message }];
    }
    case 'invalid_key': {
      const key = path[path.length - 1];
      const reasons = issue.issues.map((inner) => inner.message).join('; ');
      return [{ path, message: `invalid key ${JSON.stringify(String(key))}${reasons === '' ? '' : `: ${reasons}`}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

function toSegment(segment: PropertyKey): PathSegment {
  return typeof segment === 'number' ? segment : String(segment);
}

/** The value at `path` inside `root`, or `undefined` when the path does not exist. */
function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

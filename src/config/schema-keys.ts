import { z } from 'zod';
import type { PathSegment } from './json5-locator.js';

/**
 * The keys an object in the config may hold, read from the zod schema: walks `path` through
 * objects (by key), records (any key), arrays (any index) and wrappers (default, optional,
 * nullable, prefault, readonly, catch, lazy, pipe input). Returns `undefined` when the path does not
 * lead to an object schema (e.g. into a record of `unknown`).
 */
export function validKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] | undefined {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(segment)];
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return undefined;
    if (current === undefined) return undefined;
    current = unwrap(current);
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : undefined;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  // Bounded: wrappers nest a few levels at most.
  for (let depth = 0; depth < 16; depth++) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodReadonly ||
      current instanceof z.ZodCatch ||
      current instanceof z.ZodNonOptional ||
      current instanceof z.ZodLazy
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      break;
    }
  }
  return current;
}

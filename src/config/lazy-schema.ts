import { z } from 'zod';
import { SECTION_DEFAULTS } from './section-defaults.js';

/** What `build` returns, built the first time it is asked for and then kept (a schema never changes). */
export function builtOnce<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => {
    built ??= build();
    return built;
  };
}

/**
 * A top-level section of the config, built only for a config that has it: left out, the section
 * is its generated default (section-defaults.ts), copied, and its schema is never built. Building
 * every section's schema was most of what reading the config cost at start-up. `compute` gives
 * the default from the schema when section-defaults.ts does not have it (a section just added).
 */
export function lazySection<T extends z.ZodType>(name: string, compute: () => unknown, schema: () => T) {
  return z.lazy(schema).default(() => {
    const generated = SECTION_DEFAULTS[name];
    return (generated === undefined ? compute() : structuredClone(generated)) as z.util.NoUndefined<z.output<T>>;
  });
}

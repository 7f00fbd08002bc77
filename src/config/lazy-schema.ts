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

/** What a section is when the config leaves it out: its schema's result for an empty object (an empty list for a list). */
function defaultOf(schema: z.ZodType): unknown {
  return schema.parse(schema instanceof z.ZodArray ? [] : {}, { jitless: true });
}

/**
 * A top-level section of the config, built only for a config that has it: left out, the section
 * is its generated default (section-defaults.ts), copied, and its schema is never built. Building
 * every section's schema was most of what reading the config cost at start-up. A section that
 * section-defaults.ts does not have yet (one just added) is built for its default.
 */
export function lazySection<T extends z.ZodType>(name: string, schema: () => T) {
  return z.lazy(schema).default(() => {
    const generated = SECTION_DEFAULTS[name];
    return (generated === undefined ? defaultOf(schema()) : structuredClone(generated)) as z.util.NoUndefined<z.output<T>>;
  });
}

/** Each lazy section's default in `config`, computed from its schema: what section-defaults.ts must hold. */
export function computeSectionDefaults(config: z.ZodObject): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(config.shape)) {
    const section = field instanceof z.ZodDefault ? field.unwrap() : undefined;
    if (section instanceof z.ZodLazy) defaults[name] = defaultOf(section.unwrap() as z.ZodType);
  }
  return defaults;
}

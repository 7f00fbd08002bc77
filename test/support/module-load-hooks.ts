import { appendFileSync } from 'node:fs';

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

/** The resolve hook of module-load-recorder.ts (runs on the module loader's thread). */
export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const resolved = await next(specifier, context);
  const log = process.env.MODULE_LOAD_LOG;
  const pattern = process.env.MODULE_LOAD_PATTERN;
  if (log && pattern && (new RegExp(pattern, 'u').test(specifier) || new RegExp(pattern, 'u').test(resolved.url))) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}

import { createRequire } from 'node:module';

/**
 * Loads a CommonJS package with `require`. Node's ESM import of CommonJS packages builds a
 * wrapper module per file, which costs the gateway about 50 ms of start-up across its packages;
 * `require` does not. Use with `import type` for the package's types.
 */
export const loadCommonJs: (name: string) => unknown = createRequire(import.meta.url);

import type * as Https from 'node:https';
import { loadCommonJs } from './load-commonjs.js';

/**
 * `node:https`, loaded at the first https request instead of at start-up: with TLS under it, it is
 * a few milliseconds of start-up a gateway talking only to a local model or webhook never needs.
 */
export function nodeHttps(): typeof Https {
  return loadCommonJs('node:https') as typeof Https;
}

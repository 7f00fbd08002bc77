import type { RunTrust } from '../contracts/tool.js';

/** A run's trust, untrusted from the start when `reason` is given (its input was not the owner's). */
export function createRunTrust(reason?: string): RunTrust {
  let untrusted: string | null = reason ?? null;
  return {
    get untrusted() {
      return untrusted;
    },
    markUntrusted(why: string) {
      untrusted ??= why;
    },
  };
}

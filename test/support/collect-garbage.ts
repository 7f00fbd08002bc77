import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Runs V8's full garbage collection now, in a test process started without --expose-gc: for
 * tests of code that must survive a collection (what is held only weakly is gone afterwards).
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

import type { Logger } from '../observability/logger.js';
import { defineSubsystem } from './subsystem.js';

/**
 * A client library that rejects a promise nobody awaits (seen with hostile platform payloads)
 * must not take every channel down: it is logged loudly and the gateway keeps serving.
 */
export const unhandledRejectionsSubsystem = defineSubsystem({
  name: 'unhandled-rejections',
  start({ logger }: { logger: Logger }) {
    const onUnhandledRejection = (reason: unknown) => {
      logger.error({ err: reason }, 'a promise was rejected and nothing handled it; the gateway keeps running');
    };
    process.on('unhandledRejection', onUnhandledRejection);
    return { api: undefined, stop: () => void process.off('unhandledRejection', onUnhandledRejection) };
  },
});

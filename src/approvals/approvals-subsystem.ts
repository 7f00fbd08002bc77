import type { Store } from '../contracts/store.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { type ApprovalService, createApprovalService } from './approval-service.js';

/**
 * Exec approvals (docs/tools.md, "Approvals"): the requests commands wait on, kept in the store so
 * a restart keeps them, and expired on time. Later subsystems ask (turns), answer (channels, the
 * WebSocket API) and show them.
 */
export const approvalsSubsystem = defineSubsystem({
  name: 'approvals',
  async start({ store, logger }: Pick<GatewayBase, 'logger'> & { store: Store }) {
    const service: ApprovalService = createApprovalService({ store, logger });
    await service.start();
    return {
      api: service,
      stop: () => service.stop(),
    };
  },
});

import type { OutboxEntry, Store } from '../contracts/store.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { type AlertSink, createAlertSink } from './alerts.js';

export type GatewayAlerts = AlertSink & {
  /** The channels subsystem hands alert chat messages to their accounts from then on. */
  attachDelivery(deliver: (entry: OutboxEntry) => void): void;
};

/**
 * Operator alerts: persisted, sent to their webhook (retried) and to a chat through the outbox.
 * An alert raised before channels start waits in the outbox, which channels deliver when they start.
 */
export const alertsSubsystem = defineSubsystem({
  name: 'alerts',
  start({ store, clock, logger }: Pick<GatewayBase, 'clock' | 'logger'> & { store: Store }) {
    let deliver: ((entry: OutboxEntry) => void) | undefined;
    const sink = createAlertSink({ store, clock, logger, deliver: (entry) => deliver?.(entry) });
    sink.start();
    const api: GatewayAlerts = Object.assign(sink, {
      attachDelivery(next: (entry: OutboxEntry) => void) {
        deliver = next;
      },
    });
    return { api, stop: () => sink.stop() };
  },
});

import type { TurnEvent, TurnService } from '../sessions/turn-service.js';
import type { ClusterNode } from './cluster-node.js';

/** Streamed text is sent to the other nodes at most this often per run (each send is a database round trip). */
const DELTA_FLUSH_MS = 100;

/**
 * This node's turn events as the other nodes get them: a run's streamed text gathered into one
 * event per DELTA_FLUSH_MS, sent before the run's next other event so the order holds.
 */
function createEventForwarder(publish: (event: TurnEvent) => void) {
  const pending = new Map<string, { event: Extract<TurnEvent, { type: 'delta' }>; timer: ReturnType<typeof setTimeout> }>();
  const flush = (runId: string) => {
    const waiting = pending.get(runId);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    pending.delete(runId);
    publish(waiting.event);
  };
  return {
    forward(event: TurnEvent): void {
      if (event.type !== 'delta') {
        flush(event.runId);
        publish(event);
        return;
      }
      const waiting = pending.get(event.runId);
      if (waiting) {
        waiting.event = { ...waiting.event, text: waiting.event.text + event.text };
        return;
      }
      const timer = setTimeout(() => flush(event.runId), DELTA_FLUSH_MS);
      timer.unref?.();
      pending.set(event.runId, { event, timer });
    },
    stop(): void {
      for (const runId of [...pending.keys()]) flush(runId);
    },
  };
}

/**
 * Joins the turn service to its peers: this node's turn events go to the other nodes (a client on
 * another node watching the session sees them), theirs come here; every sweep takes up the turns
 * of lanes no live node holds, and answers waiters whose run ended elsewhere; a stop asked for on
 * another node reaches the node running the turn. Returns the undo.
 */
export function joinTurnsToCluster(service: TurnService, cluster: Pick<ClusterNode, 'publish' | 'subscribe' | 'everySweep'>): () => void {
  const forwarder = createEventForwarder((event) => cluster.publish('turn', event));
  const undo = [
    service.subscribe(forwarder.forward, { localOnly: true }),
    forwarder.stop,
    cluster.subscribe('turn', (payload) => service.relay(payload as TurnEvent)),
    cluster.subscribe('abort', (payload) => {
      service.abort((payload as { runId: string }).runId, { here: true });
    }),
    cluster.everySweep(
      async () => {
        await service.recover();
        await service.settleFinishedElsewhere();
      },
      { whenTold: true },
    ),
  ];
  return () => {
    for (const step of undo) step();
  };
}

import type { TurnEvent, TurnService } from '../sessions/turn-service.js';
import type { ClusterNode } from './cluster-node.js';

/**
 * Joins the turn service to its peers: this node's turn events go to the other nodes (a client on
 * another node watching the session sees them), theirs come here; every sweep takes up the turns
 * of lanes no live node holds, and answers waiters whose run ended elsewhere; a stop asked for on another node reaches the node
 * running the turn. Returns the undo.
 */
export function joinTurnsToCluster(service: TurnService, cluster: Pick<ClusterNode, 'publish' | 'subscribe' | 'everySweep'>): () => void {
  const undo = [
    service.subscribe((event) => cluster.publish('turn', event), { localOnly: true }),
    cluster.subscribe('turn', (payload) => service.relay(payload as TurnEvent)),
    cluster.subscribe('abort', (payload) => {
      service.abort((payload as { runId: string }).runId, { here: true });
    }),
    cluster.everySweep(async () => {
      await service.recover();
      await service.settleFinishedElsewhere();
    }),
  ];
  return () => {
    for (const step of undo) step();
  };
}

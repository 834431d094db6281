// Reconciliation on the hmrc queue (push is for latency, pull for completeness): the PPNS pull
// and the two steps of the CTC sweep. Queued by the reconcile tick (ops/reconcile-tick.ts).
export { createPpnsPullProcessor } from './ppns-pull.js';
export {
  createReconcileMessagesProcessor,
  createReconcileMovementsProcessor,
} from './ctc-sweep.js';

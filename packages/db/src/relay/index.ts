export { listRelayBox, type RelayBoxEntry, type RelayBoxQuery } from './box.js';
export {
  deleteRelayConsumer,
  getRelayConsumerRow,
  insertRelayConsumer,
  listRelayConsumers,
  relayConsumerByBox,
  relaySecretContext,
  updateRelayConsumer,
  type NewRelayConsumer,
  type RelayConsumerChange,
  type RelayConsumerView,
} from './consumers.js';
export {
  acknowledgeRelayBox,
  claimDuePushes,
  relayLag,
  relaySubject,
  requeueRelayPush,
  settleDelivered,
  settlePush,
  type ClaimedPush,
  type PushSettlement,
} from './delivery.js';
export { fanOutRelay, narrowRelayBox, pruneRelayBoxes } from './fan-out.js';
export { queueForRelay, relayableNotifications, type RelayRef } from './outbox.js';

export { startReceiver, type ReceiverHandle } from './start.js';
export { createReceiverApp, type ReceiverAppOptions } from './app.js';
export { IngestEnqueuer, type EnqueueResult } from './enqueuer.js';

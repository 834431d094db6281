export { startWorker, type WorkerHandle } from './start.js';

export { runCli, processIo, defaultUrl } from './cli.js';
export { exitCodes, type Io } from './io.js';

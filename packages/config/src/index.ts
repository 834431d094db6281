export { ConfigError, parseEnv, StartupError, type Env } from './load.js';
export * as fields from './fields.js';
export { redactUrl } from './redact.js';
export {
  apiConcern,
  databaseConcern,
  hmrcConcern,
  httpConcern,
  ppnsConcern,
  receiverConcern,
  redisConcern,
  sandboxConcern,
  telemetryConcern,
  workerConcern,
} from './concerns.js';
export {
  apiConfigSchema,
  decodeEncryptionKey,
  loadApiConfig,
  loadReceiverConfig,
  loadSandboxConfig,
  loadWorkerConfig,
  receiverConfigSchema,
  sandboxConfigSchema,
  serviceEnvNames,
  workerConfigSchema,
  type ApiConfig,
  type ReceiverConfig,
  type SandboxConfig,
  type WorkerConfig,
} from './services.js';
export { renderEnvExample } from './env-example.js';
export {
  hmrcEnvironmentOf,
  hmrcEnvironments,
  isHmrcHost,
  type HmrcEnvironment,
} from './hmrc-environments.js';

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
  telemetryConcern,
  workerConcern,
} from './concerns.js';
export {
  apiConfigSchema,
  decodeEncryptionKey,
  loadApiConfig,
  loadReceiverConfig,
  loadWorkerConfig,
  receiverConfigSchema,
  serviceEnvNames,
  workerConfigSchema,
  type ApiConfig,
  type ReceiverConfig,
  type WorkerConfig,
} from './services.js';
export { configSections, renderEnvExample, type EnvExampleSection } from './env-example.js';
export {
  hmrcEnvironmentOf,
  hmrcEnvironments,
  isHmrcHost,
  type HmrcEnvironment,
} from './hmrc-environments.js';

export { startSandbox, type SandboxHandle, type SandboxOptions } from './start.js';
export {
  loadSandboxConfig,
  sandboxConcern,
  sandboxConfigSchema,
  sandboxEnvExampleSection,
  sandboxEnvNames,
  type SandboxConfig,
} from './config.js';
export type { SandboxControls } from './core/controls.js';
export type { FaultConfig, FaultConfigInput } from './faults/faults.js';
export { parseFaultHeader } from './faults/faults.js';
export type { RuntimeSettings, SettingsPatch } from './core/settings.js';
export { maxInWindow, type Arrival, type StatsSnapshot } from './core/stats.js';
export type { Outcome } from './lifecycle/simulator.js';
export type { CallbackValidationResult } from './ppns/challenge.js';
export { seededGuarantees, type Guarantee } from './guarantee/balance.js';
export { inlineBodyLimit } from './ppns/payloads.js';

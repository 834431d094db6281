// Builders of realistic, XSD-valid NCTS phase 5 messages (and phase 4 ones, see phase4.ts) for
// the sandbox, tests, the demo and benchmarks. Every builder takes MessageParams (all optional)
// and returns the XML text. Test-side: no deployed service depends on this package, and
// tests/production-bundles.test.ts fails if a production bundle contains any of it.
export { buildIE025, buildIE043, buildIE057 } from './arrival.js';
export {
  buildMessage,
  generatedMessageTypes,
  isGeneratedMessageType,
  type GeneratedMessageType,
} from './builders.js';
export {
  buildIE007,
  buildIE013,
  buildIE014,
  buildIE015,
  buildIE044,
  buildIE170,
} from './declarations.js';
export {
  buildIE004,
  buildIE009,
  buildIE019,
  buildIE022,
  buildIE028,
  buildIE029,
  buildIE035,
  buildIE045,
  buildIE051,
  buildIE055,
  buildIE056,
  buildIE060,
  buildIE182,
  buildIE928,
} from './departure.js';
export {
  createSeededRandom,
  formatNctsDate,
  formatNctsDateTime,
  generateGrn,
  generateLrn,
  generateMessageIdentification,
  generateMrn,
  isValidMrn,
  mrnCheckDigit,
  type MrnOptions,
  type RandomSource,
} from './ids.js';
export {
  maxGoodsItems,
  ntaOf,
  type FunctionalErrorParams,
  type MessageParams,
  type RejectionParams,
} from './params.js';
export {
  buildMessageOfSize,
  sizableMessageTypes,
  type SizableMessageType,
  type SizeOptions,
} from './size.js';
export * from './phase4.js';

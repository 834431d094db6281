export type * from './types.js';
export {
  catalogue,
  catalogueByCode,
  catalogueByRoot,
  messageTypeOfRoot,
  submittableMessageTypes,
} from './catalogue.js';
export { parseNctsMessage } from './parse/parse.js';
export { NctsParser, type NctsParserOptions } from './parse/thread.js';
export { deriveMovementStatus, movementStatuses, statusFactOf } from './status.js';
export {
  XsdValidator,
  type XsdValidatorOptions,
  schemaPhaseForApiVersion,
} from './validate/index.js';
export { elementByPath, locateIssues, type ElementPosition } from './validate/locate.js';
export {
  jsonPhaseForApiVersion,
  nctsXmlToHmrcJson,
  nctsXmlToHmrcJsonText,
  type SchemaPhase,
} from './json/convert.js';

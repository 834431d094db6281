import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { queuesPath } from '../admin/bull-board.js';
import { describeAudit } from '../audit/openapi.js';
import { describeConnections } from '../connections/openapi.js';
import { describeDeadLetters } from '../dead-letters/openapi.js';
import { describeEvents } from '../events/openapi.js';
import { describeGuarantees } from '../guarantees/openapi.js';
import { describeMovements } from '../movements/openapi.js';
import { describeNotifications } from '../notifications/openapi.js';
import { describeOAuth } from '../oauth/openapi.js';
import { describeSubmissions } from '../submissions/openapi.js';
import { describeRelay } from '../relay/openapi.js';
import { describeTraders } from '../traders/openapi.js';
import { describeOps } from './ops.js';
import { registerSecurity } from './common.js';

/**
 * The OpenAPI 3.1 document of every route the api serves, generated from the zod schemas the
 * routes validate with. Built once per process (it does not depend on configuration).
 */

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

let built: OpenApiDocument | undefined;

export function openApiDocument(): OpenApiDocument {
  built ??= generate();
  return built;
}

function generate(): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registerSecurity(registry);
  describeMovements(registry);
  describeNotifications(registry);
  describeSubmissions(registry);
  describeGuarantees(registry);
  describeEvents(registry);
  describeDeadLetters(registry);
  describeAudit(registry);
  describeConnections(registry);
  describeOAuth(registry);
  describeTraders(registry);
  describeRelay(registry);
  describeOps(registry, queuesPath);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'ctc-hub',
      version: '1.0.0',
      description:
        "Push-based hub for HMRC's CTC Traders API: the HMRC-compatible movement reads served " +
        'from our database, declarations sent through us, dead letters and replays, the change ' +
        'feed, connecting traders to HMRC, and the operator endpoints.',
    },
    servers: [{ url: '/' }],
  });
}

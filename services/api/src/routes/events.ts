// STUB: implemented with the change feed.
import { Router } from 'express';
import type { ApiDeps } from '../deps.js';

/** GET /v1/events?after=&limit= and GET /v1/events/stream (Server-Sent Events). */
export function eventRoutes(deps: ApiDeps): Router {
  void deps;
  return Router();
}

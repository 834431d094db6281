// STUB: implemented with the operator views.
import { Router } from 'express';
import type { ApiDeps } from '../deps.js';

/** bull-board at /admin/queues and the ops overview page at /ops (authenticated). */
export function adminRoutes(deps: ApiDeps): Router {
  void deps;
  return Router();
}

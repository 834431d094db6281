// STUB: implemented with dead-letter replay.
import { Router } from 'express';
import type { ApiDeps } from '../deps.js';

/** Replay (one, or by filter after a dry run) and purge of dead letters, audited. */
export function deadLetterActionRoutes(deps: ApiDeps): Router {
  void deps;
  return Router();
}

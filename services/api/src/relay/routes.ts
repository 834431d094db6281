import { Router } from 'express';
import type { ApiDeps } from '../deps.js';
import { relayConsumerRoutes } from './consumers.js';
import { ppnsBoxRoutes } from './ppns-box.js';

export { ppnsAuth } from './ppns-box.js';

/** The PPNS relay: its consumers (operators) and their boxes (PPNS's pull API). */
export function relayRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.use(relayConsumerRoutes(deps));
  router.use(ppnsBoxRoutes(deps));
  return router;
}

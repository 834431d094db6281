// STUB: implemented by the api helper.
import { Router } from 'express';
import type { ApiDeps } from '../deps.js';
export function movementRoutes(deps: ApiDeps): Router { void deps; return Router(); }

// STUB: implemented by the hmrc-client helper.
import { Router } from 'express';
import type { ApiDeps } from '../deps.js';
/** GET /oauth/hmrc/start?eori=… (API key required) → 302 to HMRC's authorize endpoint. */
export function oauthStartRoutes(deps: ApiDeps): Router { void deps; return Router(); }
/** GET /oauth/hmrc/callback?code&state → exchanges the code and stores the tokens. */
export function oauthCallbackRoutes(deps: ApiDeps): Router { void deps; return Router(); }

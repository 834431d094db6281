export { startApi, type ApiHandle, type ApiOptions } from './start.js';
export { createApiApp } from './app.js';
export { parseApiKeys, authenticate, type ApiPrincipal } from './http/auth.js';
export { openApiDocument, type OpenApiDocument } from './openapi/document.js';

import type { Principal } from './tokens/token-service.js';
import type { Scope } from './tokens/scopes.js';

/**
 * What a route says about who may call it (fastify route `config`):
 *   `{ auth: 'none' }`          public (the OpenAPI document; /healthz and /metrics unless tokens are required)
 *   `{ auth: 'token' }`         any valid token (GET /v1/token)
 *   `{ scope, operatorOnly? }`  a valid token holding `scope`; `operatorOnly` refuses account tokens
 */
export type RouteAccess = { auth: 'none' } | { auth: 'token' } | { scope: Scope; operatorOnly?: boolean };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** Set by the authentication hook on every route that needs a token. */
    principal?: Principal;
  }
}

import type { FastifyRequest } from 'fastify';
import { kalemError } from '../../core/errors.js';
import type { Principal } from '../tokens/token-service.js';
import type { ApiServices } from '../http-server.js';

/** The audit actor of a request: the token's id and name. */
export function actorOf(p: Principal): string {
  return `api-token:${p.tokenId}:${p.tokenName}`;
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new Error('route without authentication reached a handler that needs it');
  return req.principal;
}

/**
 * The account a request acts on. An operator token names any account by id or name. An account
 * token's account is implied: "-", its id or its name all mean it, and any other account (whether
 * it exists or not) is "no such account" (404), so a token can neither see nor probe for another
 * tenant.
 */
export function accountOf(req: FastifyRequest): string {
  const p = principalOf(req);
  const ref = (req.params as { account: string }).account;
  if (p.accountId === null) {
    if (ref === '-') throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', '- (an operator token names the account)');
    return ref;
  }
  if (ref === '-' || ref === p.accountId || ref === p.accountName) return p.accountId;
  throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', ref);
}

/** The services bound to this request's token as audit actor. */
export function servicesFor(services: ApiServices, req: FastifyRequest) {
  const actor = actorOf(principalOf(req));
  return {
    provisioning: services.provisioning(actor),
    callRecords: services.callRecords(actor),
    erasure: services.erasure(actor),
    recordings: services.recordings(actor),
    usage: services.usage,
  };
}

/**
 * API token scopes: one per resource and verb. A token carries a set of them; each route names
 * the one it needs. `read` never includes `write` and vice versa (a CI job that provisions numbers
 * need not read transcripts). Operator-only scopes cannot be given to an account token: they act
 * across accounts or on the daemon itself.
 */
export const SCOPES = {
  'accounts:read': 'read accounts (an account token sees only its own)',
  'accounts:write': 'create, rename, disable and delete accounts (operator only)',
  'agents:read': 'read agents',
  'agents:write': 'create, change and delete agents',
  'numbers:read': 'read numbers',
  'numbers:write': 'add (one or in bulk) and remove numbers',
  'trunks:read': 'read trunks',
  'trunks:write': 'add and remove trunks',
  'secrets:read': 'list secret names and versions (never values)',
  'secrets:write': 'set, rotate and delete secrets',
  'calls:read': 'read call records (CDRs)',
  'transcripts:read': 'read call transcripts (each read is audited)',
  'recordings:read': 'download call recordings (each download is audited)',
  'erasure:write': 'erase a call or a caller',
  'usage:read': 'read usage records',
  'retention:read': 'read retention settings',
  'retention:write': 'change retention settings',
  'audit:read': 'read the audit trail (an account token sees only its account)',
  'metrics:read': '/metrics and /healthz when [api] ops_require_token is set (operator only)',
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

/** Scopes only an operator token may hold. */
export const OPERATOR_ONLY_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['accounts:write', 'metrics:read']);

export function isScope(s: string): s is Scope {
  return Object.prototype.hasOwnProperty.call(SCOPES, s);
}

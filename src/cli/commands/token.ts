import { Command } from '../commander.js';
import { kalemError } from '../../core/errors.js';
import { userInfo } from 'node:os';
import type { StoreApp } from '../../app/open-app.js';
import type { buildTokenService as BuildTokenServiceFn } from '../../app/token-service-factory.js';

type BuildTokenService = typeof BuildTokenServiceFn;
import { globals, withStore } from '../context.js';
import { printJson, printTable, say } from '../output.js';

/** `kalem token`: admin API tokens. The token is printed once at creation and never stored. */
export function tokenCommand(): Command {
  const cmd = new Command('token').description('admin API tokens: scoped, expiring, revocable; only a hash is stored');

  cmd
    .command('create')
    .description('create a token and print it once (klm_…); store it in your secret manager, it cannot be shown again')
    .argument('<name>', 'a name for the integration using it (unique among active tokens)')
    .option('--operator', 'an operator token: acts on every account')
    .option('--account <account>', 'an account token: acts only inside this account (id or name)')
    .requiredOption('--scope <scopes>', 'comma-separated scopes, e.g. numbers:read,agents:write (`kalem token scopes`)', (v: string, prev: string[] = []) => [
      ...prev,
      ...v.split(','),
    ])
    .option('--expires <duration>', 'lifetime: 90d, 12h, 30m or never', '90d')
    .action(async (name: string, o: { operator?: boolean; account?: string; scope: string[]; expires: string }, c: Command) => {
      if (Boolean(o.operator) === (o.account !== undefined)) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'give exactly one of --operator or --account ACCOUNT');
      const { buildTokenService } = await import('../../app/token-service-factory.js');
      const { token, record } = await withStore(c, (app) =>
        tokenService(app, buildTokenService).create({ name, scopes: o.scope, expires: o.expires, ...(o.account !== undefined ? { account: o.account } : {}) }),
      );
      if (globals(c).json) printJson({ token, ...record });
      else {
        say(token);
        process.stderr.write(
          `kalem: token ${record.name} (${record.id}) ${record.accountId ? `for account ${record.accountName}` : 'operator'}, scopes ${record.scopes.join(',')}, ` +
            `expires ${record.expiresAt ?? 'never'}. This is the only time it is shown.\n`,
        );
      }
    });

  cmd
    .command('list')
    .description('tokens: name, account, scopes, created, expires, last used (never the token)')
    .option('--all', 'include revoked tokens')
    .action(async (o: { all?: boolean }, c: Command) => {
      const { buildTokenService } = await import('../../app/token-service-factory.js');
      const list = await withStore(c, (app) => tokenService(app, buildTokenService).list(o.all === true));
      if (globals(c).json) printJson(list);
      else
        printTable(
          list.map((t) => ({
            id: t.id,
            name: t.name,
            account: t.accountName ?? (t.accountId === null ? '(operator)' : t.accountId),
            scopes: t.scopes.join(','),
            created: t.createdAt,
            expires: t.expiresAt ?? 'never',
            last_used: t.lastUsedAt,
            ...(o.all ? { revoked: t.revokedAt } : {}),
          })),
          ['id', 'name', 'account', 'scopes', 'created', 'expires', 'last_used', ...(o.all ? ['revoked'] : [])],
        );
    });

  cmd
    .command('revoke')
    .description('revoke a token (by id or name); the next request with it is refused')
    .argument('<token>', 'token id (tok_…) or name')
    .action(async (ref: string, _o, c: Command) => {
      const { buildTokenService } = await import('../../app/token-service-factory.js');
      const t = await withStore(c, (app) => tokenService(app, buildTokenService).revoke(ref));
      say(`revoked ${t.name} (${t.id})`);
    });

  cmd
    .command('scopes')
    .description('the scopes a token can hold')
    .action(async (_o, c: Command) => {
      const { SCOPES } = await import('../../api/tokens/scopes.js');
      const rows = Object.entries(SCOPES).map(([scope, what]) => ({ scope, what }));
      if (globals(c).json) printJson(rows);
      else printTable(rows, ['scope', 'what']);
    });

  return cmd;
}

/** The token service for this process's actor (the builder is imported by the action: see program.ts). */
function tokenService(app: StoreApp, buildTokenService: BuildTokenService) {
  return buildTokenService(app, app.config.audit.actor ?? `cli:${safeUser()}`);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

import { Command } from '../commander.js';
import { kalemError } from '../../core/errors.js';
import { globals, withConfig } from '../context.js';
import { printJson, printRecord, say } from '../output.js';

export function dbCommand(): Command {
  const cmd = new Command('db').description('the SQLite database');

  cmd
    .command('migrate')
    .description('apply pending schema migrations (each in its own transaction; re-sealing stored call data needs the master key)')
    .action(async (_o, c: Command) => {
      const { migrateStore } = await import('../../app/open-app.js');
      const { LATEST_SCHEMA_VERSION } = await import('../../store/migrations.js');
      const { applied, version } = await withConfig(c, (app) => migrateStore(app));
      say(applied.length === 0 ? `already at schema version ${LATEST_SCHEMA_VERSION}` : `applied migration(s) ${applied.join(', ')}; now at schema version ${version}`);
    });

  cmd
    .command('check')
    .description('run integrity_check and foreign_key_check and report the schema version')
    .action(async (_o, c: Command) => {
      const { assertNotNewer, integrityCheck, openDatabase, schemaVersion } = await import('../../store/database.js');
      const { LATEST_SCHEMA_VERSION } = await import('../../store/migrations.js');
      const { existsSync } = await import('node:fs');
      await withConfig(c, (app) => {
        if (!existsSync(app.config.store.path)) throw kalemError('KALEM_ERR_DB_MISSING', app.config.store.path, app.configPath ?? '(none: built-in defaults)');
        const db = openDatabase({ path: app.config.store.path, busyTimeoutMs: app.config.store.busy_timeout_ms, readonly: true });
        try {
          assertNotNewer(db, app.config.store.path);
          const version = schemaVersion(db);
          const problems = integrityCheck(db);
          const report = { path: app.config.store.path, schemaVersion: version, latestSchemaVersion: LATEST_SCHEMA_VERSION, integrity: problems.length === 0 ? 'ok' : problems };
          if (globals(c).json) printJson(report);
          else printRecord(report);
          if (problems.length > 0) throw kalemError('KALEM_ERR_DB_OPEN', app.config.store.path, `integrity check failed: ${problems.slice(0, 5).join('; ')}`);
          if (version < LATEST_SCHEMA_VERSION) throw kalemError('KALEM_ERR_DB_NOT_MIGRATED', app.config.store.path, version, LATEST_SCHEMA_VERSION);
        } finally {
          db.close();
        }
      });
    });

  return cmd;
}

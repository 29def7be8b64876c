import type { StoreApp } from './open-app.js';
import { TokenService } from '../api/tokens/token-service.js';
import { SqliteTokenRepository } from '../store/repositories/tokens.js';

/** The API token service over the app's database (the CLI's `kalem token` and the daemon share it). */
export function buildTokenService(app: StoreApp, actor: string): TokenService {
  return new TokenService(app.store, new SqliteTokenRepository(app.store.db), app.clock, actor);
}

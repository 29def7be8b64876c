import { performance } from 'node:perf_hooks';
const steps = [];
const mark = async (name, fn) => { const a = performance.now(); await fn(); steps.push([name, performance.now() - a]); };
await mark('warm: core/errors', () => import('../dist/src/core/errors.js'));
for (const m of ['core/ids', 'tenancy/cidr', 'tenancy/realtime-catalog', 'tenancy/e164', 'tenancy/model', 'tenancy/caller-id', 'tenancy/provisioning-service', 'tenancy/call-records-service', 'store/migrations', 'store/database', 'store/statement-cache', 'store/repositories/accounts', 'store/repositories/agents', 'store/sqlite-tenant-store', 'config/schema-dsl', 'config/schema', 'config/cross-checks', 'config/load', 'app/startup-errors', 'core/logger', 'crypto/keyring', 'crypto/master-key', 'app/open-app'])
  await mark(m, () => import(`../dist/src/${m}.js`));
console.log(steps.map(([n, ms]) => `${n} ${ms.toFixed(2)}`).join('\n'));

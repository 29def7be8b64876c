/**
 * Preload for `node --import <this file>`: records every module the process loads into the file
 * named by $KALEM_LOAD_LOG, one URL or path a line. ES modules are seen by a `load` hook (it runs
 * on the loader thread, so it appends to the file itself); CommonJS modules, including those
 * loaded through createRequire, are read from the CommonJS cache when the process exits.
 * test/cli/lazy-load.test.ts uses it to prove which packages a command loads.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.KALEM_LOAD_LOG;
if (out) {
  const hook = `
    import { appendFileSync } from 'node:fs';
    export async function load(url, context, next) {
      appendFileSync(${JSON.stringify(out)}, 'esm ' + url + '\\n');
      return next(url, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const cache = (require('node:module') as { _cache: Record<string, unknown> })._cache;
    appendFileSync(out, Object.keys(cache).map((p) => `cjs ${p}\n`).join(''));
  });
}

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATIVE_ABI_VERSION, NativeAddonError, loadNativeMedia, nativeAddonPath, nativeMedia } from '../../src/media/native.js';

t.test('the built addon loads and has the expected ABI version', async (t) => {
  const m = nativeMedia();
  t.equal(m.abiVersion, NATIVE_ABI_VERSION);
  t.equal(nativeMedia(), m, 'loaded once');
  t.match(nativeAddonPath(), /native\/build\/Release\/kalem_media\.node$/);
});

t.test('a missing build is a clear error naming the fix', async (t) => {
  const err = t.throws(() => loadNativeMedia('/nonexistent/kalem_media.node')) as unknown;
  t.ok(err instanceof NativeAddonError);
  t.match((err as Error).message, /native media addon not built: run `make setup`/);
  t.equal((err as NativeAddonError).code, 'KALEM_ERR_NATIVE_ADDON');
});

t.test('a stale or broken build is a clear error too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stale = join(dir, 'stale.cjs');
  writeFileSync(stale, 'module.exports = { abiVersion: 0 };');
  t.throws(() => loadNativeMedia(stale), { name: 'NativeAddonError', message: /is stale \(ABI version 0, this kalem needs 1\): run `make setup`/ });
  const broken = join(dir, 'broken.node');
  writeFileSync(broken, 'not an ELF file');
  t.throws(() => loadNativeMedia(broken), { name: 'NativeAddonError', message: /does not load .*make setup/ });
});

t.test('methods cannot be borrowed onto other objects, constructors need new', async (t) => {
  const m = nativeMedia();
  const r = new m.Resampler(8000, 24000, 5);
  const enc = new m.G722Encoder();
  const dec = new m.G722Decoder();
  t.throws(() => (m.G722Decoder.prototype.decode as (p: Uint8Array) => Int16Array).call(enc, new Uint8Array(4)), TypeError);
  t.throws(() => (m.G722Encoder.prototype.encode as (p: Int16Array) => Uint8Array).call(r, new Int16Array(4)), TypeError);
  t.throws(() => (m.Resampler.prototype.process as (p: Int16Array) => Int16Array).call(dec, new Int16Array(4)), TypeError);
  t.throws(() => (m.Resampler.prototype.destroy as () => void).call({}), TypeError);
  t.throws(() => (m.Resampler as unknown as (a: number, b: number, c: number) => unknown)(8000, 24000, 5), TypeError);
  t.throws(() => (m.G722Encoder as unknown as () => unknown)(), TypeError);
  t.throws(() => new m.Resampler(8000, 24000, 11), TypeError);
  t.throws(() => new m.Resampler(8000, 'x' as unknown as number, 5), TypeError);
  t.throws(() => new (m.Resampler as unknown as new (a: number) => unknown)(8000), TypeError);
  t.equal(enc.encode(new Int16Array(4)).length, 2, 'the objects still work after the failed calls');
  r.destroy();
  enc.destroy();
  dec.destroy();
});

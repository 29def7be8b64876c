// The SDP limits at the call layer, whatever engine handed the offer over: both give a string,
// and bytes that were not UTF-8 arrive as U+FFFD (drachtio-srf's strings, the embedded engine's
// decoding). The embedded engine end to end is in test/media-e2e/oversized-sdp.test.ts.
import t from 'tap';
import { checkOffer, MAX_OFFER_BYTES } from '../../src/calls/offer-limits.js';
import { OFFER, ScriptedCall, sessionRig } from './harness.js';

t.test('checkOffer', async (t) => {
  t.same(checkOffer(OFFER), { ok: true });
  const pad = (n: number): string => OFFER + 'a=x-pad:' + 'a'.repeat(n - OFFER.length - 10) + '\r\n';
  t.equal(Buffer.byteLength(pad(MAX_OFFER_BYTES)), MAX_OFFER_BYTES);
  t.same(checkOffer(pad(MAX_OFFER_BYTES)), { ok: true }, 'exactly the limit is fine');
  t.same(checkOffer(pad(MAX_OFFER_BYTES + 1)), { ok: false, why: `SDP offer larger than ${MAX_OFFER_BYTES} bytes` });
  // 6,000 U+FFFD are 6,000 UTF-16 units but 18,000 bytes of UTF-8: the byte count decides.
  t.equal(checkOffer(OFFER + 's=' + '\u00e9'.repeat(8200)).ok, false, 'two-byte characters count twice');
  t.same(checkOffer(OFFER.replace('s=-', 's=\ufffd')), { ok: false, why: 'SDP offer is not valid UTF-8' });
  t.same(checkOffer(OFFER.replace('s=-', 's=Café')), { ok: true }, 'real UTF-8 text is fine');
});

t.test('a call whose offer is not UTF-8 or too large is refused with 488 before any media or model', async (t) => {
  const rig = await sessionRig(t);
  for (const sdp of [OFFER.replace('s=-', 's=\ufffd\ufffd'), OFFER + 'a=x:' + 'b'.repeat(MAX_OFFER_BYTES) + '\r\n']) {
    const { call, session } = rig.start(new ScriptedCall(sdp));
    await call.whenEnded;
    await session.whenClosed();
    t.equal(call.rejected?.status, 488);
    t.equal(call.progressSent.length, 0, 'not even ringing');
  }
  t.equal(rig.clients.length, 0, 'no Realtime session for either');
  t.equal(rig.unsealed.count, 0);
  t.match((await rig.metrics.render()).body, /kalem_calls_total\{outcome="rejected_488"\} 2/);
});

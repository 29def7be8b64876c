import type { Test } from 'tap';
import type { EngineUnderTest } from '../helpers/gateway.js';
import { runSipp, type SippRun } from '../helpers/sipp.js';
import { until } from '../media-e2e/helpers.js';
import { AGENT_NUMBER, TRANSFER_TARGET, realtimeCdrs, realtimeGateway } from './helpers.js';

/**
 * The Realtime agent's SIP-side tools, end to end on either SIP engine: SIPp as the carrier, the
 * REAL rtpengine the gateway manages, the OpenAI Realtime STAND-IN (not OpenAI) asking for the
 * tool. Run on the embedded engine by test/realtime-e2e/sipp-realtime.test.ts and on the drachtio
 * engine behind a real drachtio-server by test/drachtio-real/realtime.test.ts.
 */

function ok(t: Pick<Test, 'equal'>, run: SippRun, what: string): void {
  t.equal(run.code, 0, `${what}: SIPp reports every call successful${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-3000)}`}`);
}

export function sipToolsSuite(t: Test, engine: () => EngineUnderTest): void {
  t.test('transfer_call: the gateway sends REFER to the target, follows NOTIFY and ends its leg', async (t) => {
    const { gw, standIn } = await realtimeGateway({ engine: engine() });
    t.teardown(async () => {
      await gw.stop();
      await standIn.close();
    });
    // Once caller audio flows (the call is answered), the model decides to transfer.
    let transferring = false;
    standIn.on('received', (conn, ev) => {
      if (ev.type === 'input_audio_buffer.append' && !transferring) {
        transferring = true;
        conn.callFunction('transfer_call', '{"reason":"wants a human"}');
      }
    });
    const run = await runSipp({ scenario: 'uac-transfer-refer.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, timeoutS: 30 });
    t.equal(transferring, true, 'the model asked for the transfer once caller audio flowed');
    ok(t, run, 'REFER → 202 → NOTIFY 200 → BYE');
    t.match(run.messages, new RegExp(`REFER sip:[\\s\\S]*Refer-To: <${TRANSFER_TARGET.replace(/[.+]/g, '\\$&')}>`), 'SIPp saw the REFER to the agent\'s transfer target');
    await until('the CDR', () => realtimeCdrs(gw).at(-1)?.end_reason === 'transferred');
    const cdr = realtimeCdrs(gw).at(-1)!;
    t.equal(cdr.hangup_by, 'gateway');
    t.same(cdr.details.realtime?.toolCalls.map((c) => [c.name, c.ok]), [['transfer_call', true]]);
    t.same(standIn.violations, []);
  });

  t.test('end_call: the gateway sends BYE only after the goodbye has played', async (t) => {
    const { gw, standIn } = await realtimeGateway({ engine: engine(), standIn: { defaultResponse: { kind: 'audio', source: 'tone', durationMs: 1200, transcript: 'Goodbye, thanks for calling.' } } });
    t.teardown(async () => {
      await gw.stop();
      await standIn.close();
    });
    // At answer the gateway asks for the first words; the model says goodbye and calls end_call.
    standIn.on('received', (conn, ev) => {
      if (ev.type === 'response.create') conn.callFunction('end_call', '{"reason":"caller is done"}');
    });
    const run = await runSipp({ scenario: 'uac-expect-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, timeoutS: 30 });
    ok(t, run, 'INVITE → 200 → BYE from the gateway');
    await until('the CDR', () => realtimeCdrs(gw).at(-1)?.end_reason === 'end_call');
    const cdr = realtimeCdrs(gw).at(-1)!;
    t.equal(cdr.hangup_by, 'gateway');
    t.equal(cdr.details.realtime?.framesDown, 60, 'all 60 frames of the 1.2 s goodbye went out before the BYE');
    t.same(cdr.details.realtime?.toolCalls.map((c) => [c.name, c.ok]), [['end_call', true]]);
    t.same(standIn.violations, []);
  });
}

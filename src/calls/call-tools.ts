/**
 * The tools a Realtime agent can call during a phone call, dispatched by name:
 *
 * - end_call: the goodbye plays to its last frame, then BYE (RealtimeBridge.endAfterResponse).
 * - transfer_call: SIP REFER to the agent's transfer target; the NOTIFY (sipfrag) outcome is
 *   awaited. Success ends our leg; failure goes back to the model, which carries on.
 * - send_dtmf: RFC 4733 key presses in the audio's place (IVR navigation).
 * - kb_search: the account's knowledge bases linked to the agent (tools/kb-search.ts; a KbLookup
 *   owned by the call); the filler covers a slow search like a slow webhook.
 * - the account's webhooks: a signed HTTPS POST (tools/webhook-client.ts); while it takes
 *   longer than `fillerAfterMs`, the caller hears the filler ticks rather than dead air.
 *
 * Every tool resolves with the JSON text the model gets as the function output, never throws:
 * a failed tool is something to tell the model, not a reason to drop the call.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { fillerTicks } from '../media/prompts.js';
import type { ToolCall } from '../realtime/realtime-client.js';
import type { RealtimeFunctionTool } from 'openai/resources/realtime/realtime';
import { END_CALL_TOOL, SEND_DTMF_TOOL, TRANSFER_CALL_TOOL } from '../realtime/session-config.js';
import type { ReferProgress } from '../sip/sip-engine.js';
import { KB_SEARCH_TOOL, type KbLookup } from '../tools/kb-search.js';
import { callWebhook } from '../tools/webhook-client.js';
import { toModelOutput } from '../tools/webhook-error.js';
import type { BridgeTools, RealtimeBridge } from './realtime-bridge.js';

export interface CallToolsDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly accountId: string;
  /** Our id of the call (the CDR's), sent to webhooks as kalem_call_id. */
  readonly callId: string;
  /** Blind transfer of this call (IncomingCall.refer). */
  readonly refer: (target: string) => Promise<ReferProgress>;
  /** Ends our leg after a successful transfer. */
  readonly transferred: () => void;
  /** Unseals the account's webhook signing secret (undefined when none is set); wiped after use. */
  readonly openWebhookSecret: () => Uint8Array | undefined;
  readonly wipe: (buf: Uint8Array) => void;
  readonly webhook: {
    readonly timeoutMs: number;
    readonly maxResponseBytes: number;
    readonly fillerAfterMs: number;
    /** Tenants' services on the operator's own network (loopback, RFC 1918…); off by default. */
    readonly allowPrivateNetworks?: boolean;
    readonly ca?: string | Buffer;
  };
  /** The call's knowledge-base lookup, when its agent is linked to bases (the call closes it). */
  readonly kb?: KbLookup;
}

const json = (value: unknown): string => JSON.stringify(value);

export class CallTools implements BridgeTools {
  constructor(private readonly deps: CallToolsDeps) {}

  definitions(): RealtimeFunctionTool[] {
    return this.deps.kb ? [this.deps.kb.definition] : [];
  }

  respondsAfter(name: string): boolean {
    // After end_call the goodbye is already said; a new response would talk over the hang-up.
    return name !== END_CALL_TOOL;
  }

  async run(call: ToolCall, bridge: RealtimeBridge): Promise<string> {
    const started = this.deps.clock.monotonic();
    let ok = false;
    let note = '';
    let output: string;
    /** Runs once the tool call is recorded (a transfer ends the call, which writes the CDR). */
    let after: (() => void) | undefined;
    try {
      const args = parseArguments(call.arguments);
      if (args === null) {
        note = 'arguments are not a JSON object';
        return (output = json({ error: 'the arguments were not a JSON object' }));
      }
      switch (call.name) {
        case END_CALL_TOOL:
          bridge.endAfterResponse(call.responseId);
          ok = true;
          note = typeof args['reason'] === 'string' ? `reason: ${args['reason']}` : 'goodbye';
          return (output = json({ ok: true, note: 'The call ends after your last words have played.' }));
        case TRANSFER_CALL_TOOL:
          ({ ok, note, output, after } = await this.transfer(bridge));
          return output;
        case SEND_DTMF_TOOL:
          ({ ok, note, output } = this.sendDtmf(bridge, args));
          return output;
        case KB_SEARCH_TOOL:
          if (this.deps.kb === undefined) {
            ({ ok, note, output } = { ok: false, note: 'no knowledge base', output: json({ error: 'there is no knowledge base for this line' }) });
            return output;
          }
          ({ ok, note, output } = await this.withFiller(bridge, call, () => this.deps.kb!.run(args, call.signal)));
          return output;
        default:
          ({ ok, note, output } = await this.webhook(bridge, call, args));
          return output;
      }
    } finally {
      const ms = this.deps.clock.monotonic() - started;
      bridge.recordTool(call.name, ok, ms, note);
      this.deps.log.info({ tool: call.name, ok, ms: Math.round(ms) }, 'tool call');
      after?.();
    }
  }

  private async transfer(bridge: RealtimeBridge): Promise<{ ok: boolean; note: string; output: string; after?: () => void }> {
    const target = bridge.agent.tools.transferTarget;
    if (target === null) return { ok: false, note: 'no transfer target', output: json({ ok: false, error: 'transfer is not available for this line' }) };
    let progress: ReferProgress;
    try {
      progress = await this.deps.refer(target);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'REFER failed');
      return { ok: false, note: 'REFER failed', output: json({ ok: false, error: 'the transfer could not be started' }) };
    }
    if (progress.status >= 200 && progress.status < 300) {
      return { ok: true, note: `transferred (${progress.status})`, output: json({ ok: true }), after: () => this.deps.transferred() };
    }
    return {
      ok: false,
      note: `transfer failed: ${progress.status} ${progress.reason}`,
      output: json({ ok: false, error: `the transfer failed (${progress.status} ${progress.reason}); tell the caller and carry on` }),
    };
  }

  private sendDtmf(bridge: RealtimeBridge, args: Record<string, unknown>): { ok: boolean; note: string; output: string } {
    const digits = args['digits'];
    if (typeof digits !== 'string' || !/^[0-9*#A-Da-d]{1,32}$/.test(digits))
      return { ok: false, note: 'bad digits', output: json({ ok: false, error: 'digits must be 1-32 of 0-9 * # A-D' }) };
    for (const d of digits) {
      // Presses go back to back, each its own event (its own timestamp), as RFC 4733 §2.5.1.3 allows.
      if (!bridge.endpoint.sendDtmf(d, 100)) return { ok: false, note: 'DTMF not negotiated', output: json({ ok: false, error: 'this call cannot send keypad tones' }) };
    }
    return { ok: true, note: `sent ${digits}`, output: json({ ok: true, sent: digits }) };
  }

  private async webhook(
    bridge: RealtimeBridge,
    call: ToolCall,
    args: Record<string, unknown>,
  ): Promise<{ ok: boolean; note: string; output: string }> {
    const hook = bridge.agent.tools.webhooks.find((h) => h.name === call.name);
    if (hook === undefined) return { ok: false, note: 'unknown tool', output: json({ error: `there is no tool called ${call.name}` }) };
    const secret = this.deps.openWebhookSecret();
    if (secret === undefined) {
      this.deps.log.warn({ tool: call.name }, 'webhook tool called but the account has no "webhook" secret');
      return { ok: false, note: 'no webhook secret', output: json({ error: 'this tool is not configured' }) };
    }
    try {
      const r = await this.withFiller(bridge, call, () =>
        callWebhook({
          url: hook.url,
          secret,
          accountId: this.deps.accountId,
          callId: this.deps.callId,
          toolName: call.name,
          toolCallId: call.callId,
          arguments: args,
          timeoutMs: this.deps.webhook.timeoutMs,
          maxResponseBytes: this.deps.webhook.maxResponseBytes,
          signal: call.signal,
          ...(this.deps.webhook.allowPrivateNetworks ? { allowPrivateNetworks: true } : {}),
          ...(this.deps.webhook.ca === undefined ? {} : { ca: this.deps.webhook.ca }),
        }),
      );
      return { ok: true, note: `HTTP ${r.status}`, output: r.output };
    } catch (err) {
      const safe = typeof (err as { toJSON?: unknown }).toJSON === 'function' ? (err as { toJSON(): unknown }).toJSON() : { message: 'webhook failed' };
      this.deps.log.warn({ tool: call.name, error: safe }, 'webhook tool failed');
      return { ok: false, note: 'webhook failed', output: toModelOutput(err) };
    } finally {
      this.deps.wipe(secret);
    }
  }

  /**
   * Runs a slow tool with the filler: after `fillerAfterMs` the caller hears soft ticks (every
   * second) instead of dead air, until the answer is here.
   */
  private async withFiller<T>(bridge: RealtimeBridge, call: ToolCall, fn: () => Promise<T>): Promise<T> {
    let filler: TimerHandle | null = null;
    const playFiller = (): void => {
      bridge.playPcm(fillerTicks(), `filler:${call.callId}`);
      filler = this.deps.clock.setTimer(1000, playFiller);
    };
    filler = this.deps.clock.setTimer(this.deps.webhook.fillerAfterMs, playFiller);
    try {
      return await fn();
    } finally {
      (filler as TimerHandle | null)?.cancel();
      // The answer is here: ticks still queued would only delay the model's reply.
      bridge.stopPcm(`filler:${call.callId}`);
    }
  }
}

function parseArguments(text: string): Record<string, unknown> | null {
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

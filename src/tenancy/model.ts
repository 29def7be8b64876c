/**
 * The tenancy domain: what an account owns. Every resource carries its account id; nothing here
 * is reachable without naming the account it belongs to (DID resolution is the one entry point
 * that goes from a dialled number to an account).
 */

export type AccountStatus = 'active' | 'disabled';

export interface RetentionSettings {
  /** Days to keep each kind of data; null = keep until deleted. Enforced by privacy/ (later). */
  readonly transcriptsDays: number | null;
  readonly recordingsDays: number | null;
  readonly cdrDays: number | null;
}

export interface Account {
  readonly id: string;
  readonly name: string;
  readonly status: AccountStatus;
  /** Most calls this account may have at once across all its trunks; null = only the daemon limit. */
  readonly maxConcurrentCalls: number | null;
  readonly retention: RetentionSettings;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type AgentKind = 'realtime' | 'echo';
/** pcm16: decode and resample to 24 kHz PCM16; g711: pass μ-law/A-law straight to the model. */
export type AudioMode = 'pcm16' | 'g711';

export type TurnDetection =
  | {
      readonly type: 'server_vad';
      readonly threshold: number;
      readonly prefixPaddingMs: number;
      readonly silenceDurationMs: number;
    }
  | { readonly type: 'semantic_vad'; readonly eagerness: 'low' | 'medium' | 'high' | 'auto' };

export interface AgentTools {
  /** SIP URI the transfer_call tool may REFER to; null = no transfer tool. */
  readonly transferTarget: string | null;
  /** Whether the model gets the end_call tool. */
  readonly endCall: boolean;
  /** Webhook tools: name, JSON schema of the arguments, HTTPS URL. */
  readonly webhooks: ReadonlyArray<{
    readonly name: string;
    readonly description: string;
    readonly parameters: Record<string, unknown>;
    readonly url: string;
  }>;
}

export interface Agent {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly kind: AgentKind;
  readonly model: string;
  readonly voice: string;
  readonly instructions: string;
  readonly audioMode: AudioMode;
  readonly turnDetection: TurnDetection;
  readonly tools: AgentTools;
  readonly firstWords: string | null;
  readonly maxCallSeconds: number;
  readonly storeTranscripts: boolean;
  /** Record both directions of its calls (stereo WAV, encrypted while written). Off by default. */
  readonly recording: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface PhoneNumber {
  readonly e164: string;
  readonly accountId: string;
  readonly agentId: string;
  readonly createdAt: string;
}

export interface Trunk {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  /** Canonical CIDR texts; empty when the trunk authenticates by digest only. */
  readonly cidrs: readonly string[];
  readonly digestUsername: string | null;
  readonly hasDigestPassword: boolean;
  readonly maxConcurrentCalls: number | null;
  readonly createdAt: string;
}

/** A secret's metadata; the value never leaves the store except sealed, or opened by the vault. */
export interface SecretInfo {
  readonly accountId: string;
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
}

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly accountId: string | null;
  readonly action: string;
  readonly target: string;
  /** Non-secret details of the change (field names changed, counts). Never a secret value. */
  readonly details: Record<string, unknown>;
}

export interface CallRecordSummary {
  readonly id: string;
  readonly accountId: string;
  readonly agentId: string | null;
  readonly numberE164: string | null;
  readonly sipCallId: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly endReason: string | null;
}

/** Who ended a call: the caller (BYE, CANCEL) or the gateway (agent, limits, errors). */
export type HangupBy = 'caller' | 'gateway';

/** The full CDR of one call, as an operator sees it with `kalem calls show`. */
export interface CallRecord extends CallRecordSummary {
  readonly trunkId: string | null;
  readonly fromUri: string | null;
  readonly answeredAt: string | null;
  readonly hangupBy: HangupBy | null;
  /** Media statistics, counts and timings; never audio or transcript content. */
  readonly details: Record<string, unknown>;
  /** Whether a sealed transcript is stored for the call (its content is read only through the service). */
  readonly hasTranscript: boolean;
  /** Whether an encrypted recording is stored for the call. */
  readonly hasRecording: boolean;
}

export type TranscriptRole = 'caller' | 'agent' | 'dtmf' | 'tool';

/** One turn of a call's transcript; the list is sealed under the account key before it is stored. */
export interface TranscriptTurn {
  readonly role: TranscriptRole;
  readonly text: string;
  /** ISO 8601 time the turn started. */
  readonly at: string;
  /** True when the turn was cut off (barge-in: only what the caller actually heard is kept). */
  readonly truncated?: boolean;
}

/** Token counts of one call, summed over every `response.done` the model sent. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  inputAudioTokens: number;
  outputAudioTokens: number;
  inputTextTokens: number;
  outputTextTokens: number;
  cachedTokens: number;
}

export const NO_TOKENS: Readonly<TokenUsage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  inputAudioTokens: 0,
  outputAudioTokens: 0,
  inputTextTokens: 0,
  outputTextTokens: 0,
  cachedTokens: 0,
});

/**
 * One call's usage, apart from its content: what billing needs and nothing more. No caller, no
 * transcript; kept when the call's content is erased, its CDR swept or its account deleted.
 */
export interface UsageRecord {
  readonly callId: string;
  readonly accountId: string;
  readonly agentId: string | null;
  /** The number dialled (the tenant's own number), not the caller's. */
  readonly numberE164: string | null;
  readonly startedAt: string;
  /** Whole seconds from answer to end, rounded up; 0 for calls never answered. */
  readonly billableSeconds: number;
  /** Caller audio sent to the model, and model audio played to the caller. */
  readonly modelAudioInMs: number;
  readonly modelAudioOutMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly inputAudioTokens: number;
  readonly outputAudioTokens: number;
  readonly inputTextTokens: number;
  readonly outputTextTokens: number;
  readonly cachedTokens: number;
}

/** Usage totals of one account over a period. */
export interface UsageTotals extends Omit<UsageRecord, 'callId' | 'agentId' | 'numberE164' | 'startedAt'> {
  readonly account: string | null;
  readonly calls: number;
}

export const DEFAULT_AGENT = {
  kind: 'realtime' as AgentKind,
  model: 'gpt-realtime',
  voice: 'marin',
  instructions: 'You are a helpful phone assistant. Be brief.',
  audioMode: 'pcm16' as AudioMode,
  turnDetection: { type: 'server_vad', threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 } as TurnDetection,
  tools: { transferTarget: null, endCall: true, webhooks: [] } as AgentTools,
  firstWords: null as string | null,
  maxCallSeconds: 3600,
  storeTranscripts: true,
  recording: false,
};

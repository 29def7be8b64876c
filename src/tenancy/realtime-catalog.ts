/**
 * What an agent may name, checked when it is provisioned rather than at its first call (a typo
 * in a voice would otherwise surface as a failed call). Taken from the `openai` package's own
 * Realtime types (openai 6.x: RealtimeSession's `model` and `voice` unions); a test keeps the
 * model list in step with the installed package. `[realtime] extra_models` / `extra_voices`
 * extend them for models newer than this list (or an Azure deployment name).
 */
export const REALTIME_MODELS: readonly string[] = [
  'gpt-realtime',
  'gpt-realtime-2025-08-28',
  'gpt-realtime-mini',
  'gpt-realtime-mini-2025-10-06',
  'gpt-realtime-mini-2025-12-15',
  'gpt-realtime-1.5',
  'gpt-realtime-2',
  'gpt-realtime-2.1',
  'gpt-realtime-2.1-mini',
  'gpt-4o-realtime-preview',
  'gpt-4o-realtime-preview-2024-10-01',
  'gpt-4o-realtime-preview-2024-12-17',
  'gpt-4o-realtime-preview-2025-06-03',
  'gpt-4o-mini-realtime-preview',
  'gpt-4o-mini-realtime-preview-2024-12-17',
];

export const REALTIME_VOICES: readonly string[] = ['alloy', 'ash', 'ballad', 'cedar', 'coral', 'echo', 'marin', 'sage', 'shimmer', 'verse'];

/**
 * Secret names some part of the gateway reads. Anything else is refused at `secret set`: a
 * secret stored as `opneai` would never be used, and calls would fail for want of `openai`.
 * A feature that reads a new secret adds its name here.
 */
export const SECRET_NAMES: readonly string[] = ['openai', 'webhook', 'twilio', 'stripe'];

import { readFileSync } from 'node:fs';
import type { AgentExtras } from '../../tenancy/provisioning-service.js';
import { Command, Option } from '../commander.js';
import type { ProvisioningApp } from '../../app/open-app.js';
import { kalemError } from '../../core/errors.js';
import type { Agent, AgentTools, TurnDetection } from '../../tenancy/model.js';
import type { AgentFields } from '../../tenancy/ports.js';
import { globals, withProvisioning, withReader } from '../context.js';
import { printJson, printRecord, printTable, say } from '../output.js';
import { collect, fraction, nonNegativeInt, oneOfValues, positiveInt } from '../parse.js';

interface AgentOptions {
  name?: string;
  kind?: Agent['kind'];
  model?: string;
  voice?: string;
  instructions?: string;
  instructionsFile?: string;
  audioMode?: Agent['audioMode'];
  turnDetection?: TurnDetection['type'];
  vadThreshold?: number;
  vadPrefixMs?: number;
  vadSilenceMs?: number;
  eagerness?: 'low' | 'medium' | 'high' | 'auto';
  firstWords?: string;
  maxCallSeconds?: number;
  transferTarget?: string;
  endCall?: boolean;
  transcripts?: boolean;
  recording?: boolean;
  recordingAnnouncement?: string | false;
  webhooksFile?: string;
  /** Knowledge bases searched by kb_search; false (--no-kb) unlinks them all. */
  kb?: string[] | false;
}

function agentOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--kind <kind>', 'realtime (OpenAI agent) or echo (trunk test)').argParser(oneOfValues(['realtime', 'echo'] as const)))
    .option('--model <model>', 'OpenAI Realtime model')
    .option('--voice <voice>', 'OpenAI voice')
    .option('--instructions <text>', 'system instructions')
    .option('--instructions-file <file>', 'read the instructions from a file')
    .addOption(new Option('--audio-mode <mode>', 'pcm16 (decode, 24 kHz) or g711 (pass-through)').argParser(oneOfValues(['pcm16', 'g711'] as const)))
    .addOption(new Option('--turn-detection <type>', 'server_vad or semantic_vad').argParser(oneOfValues(['server_vad', 'semantic_vad'] as const)))
    .option('--vad-threshold <0..1>', 'server_vad activation threshold', fraction)
    .option('--vad-prefix-ms <ms>', 'server_vad audio kept before speech', nonNegativeInt)
    .option('--vad-silence-ms <ms>', 'server_vad silence that ends a turn', nonNegativeInt)
    .addOption(new Option('--eagerness <e>', 'semantic_vad eagerness').argParser(oneOfValues(['low', 'medium', 'high', 'auto'] as const)))
    .option('--first-words <text>', 'what the agent says when the call is answered')
    .option('--max-call-seconds <s>', 'the gateway hangs up after this long', positiveInt)
    .option('--transfer-target <sip-uri>', 'where transfer_call may send the caller')
    .option('--end-call', 'give the model the end_call tool (the default)')
    .option('--no-end-call', 'do not give the model the end_call tool')
    .option('--transcripts', 'store transcripts of this agent\'s calls (the default)')
    .option('--no-transcripts', 'never store transcripts of this agent\'s calls')
    .option('--recording', 'record this agent\'s calls: stereo WAV (caller left, agent right), encrypted while written')
    .option('--no-recording', 'stop recording this agent\'s calls (the default)')
    .option('--recording-announcement <file>', 'played to the caller before the agent speaks on recorded calls (consent): mono 16-bit WAV at 24 kHz, up to 30 s')
    .option('--no-recording-announcement', 'remove the recording announcement')
    .option('--webhooks-file <file>', 'JSON array of webhook tools: {name, description, parameters, url}')
    .option('--kb <name>', 'a knowledge base of the account the agent searches with kb_search (repeat for more; replaces the list)', collect)
    .option('--no-kb', 'the agent searches no knowledge base');
}

async function checkBasesExist(app: ProvisioningApp, account: string, names: string[]): Promise<void> {
  const k = await (await import('./kb.js')).openKb(app);
  let known: Set<string>;
  try {
    known = new Set(k.knowledge.listBases(account).flatMap((b) => [b.name, b.id]));
  } finally {
    await k.close();
  }
  const missing = names.find((n) => !known.has(n));
  if (missing !== undefined) throw kalemError('KALEM_ERR_UNKNOWN_KB', missing, account);
}

/** Links the agent to the bases named by --kb (or none with --no-kb); audited by the service. */
async function linkBases(app: ProvisioningApp, account: string, agent: string, kb: string[] | false | undefined): Promise<void> {
  if (kb === undefined) return;
  const k = await (await import('./kb.js')).openKb(app);
  try {
    k.knowledge.linkAgent(account, agent, kb === false ? [] : kb);
  } finally {
    await k.close();
  }
}

function fieldsFrom(o: AgentOptions, base: AgentFields | undefined): Partial<AgentFields> {
  const f: { -readonly [K in keyof AgentFields]?: AgentFields[K] } = {};
  if (o.name !== undefined) f.name = o.name;
  if (o.kind !== undefined) f.kind = o.kind;
  if (o.model !== undefined) f.model = o.model;
  if (o.voice !== undefined) f.voice = o.voice;
  if (o.instructions !== undefined && o.instructionsFile !== undefined) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'give --instructions or --instructions-file, not both');
  }
  if (o.instructions !== undefined) f.instructions = o.instructions;
  if (o.instructionsFile !== undefined) f.instructions = readText(o.instructionsFile);
  if (o.audioMode !== undefined) f.audioMode = o.audioMode;
  if (o.firstWords !== undefined) f.firstWords = o.firstWords === '' ? null : o.firstWords;
  if (o.maxCallSeconds !== undefined) f.maxCallSeconds = o.maxCallSeconds;
  if (o.transcripts !== undefined) f.storeTranscripts = o.transcripts;
  if (o.recording !== undefined) f.recording = o.recording;

  const vadTouched =
    o.turnDetection !== undefined || o.vadThreshold !== undefined || o.vadPrefixMs !== undefined || o.vadSilenceMs !== undefined || o.eagerness !== undefined;
  if (vadTouched) {
    const cur = base?.turnDetection;
    const type = o.turnDetection ?? cur?.type ?? 'server_vad';
    if (type === 'server_vad') {
      if (o.eagerness !== undefined) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', '--eagerness applies to semantic_vad only');
      const prev = cur?.type === 'server_vad' ? cur : { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };
      f.turnDetection = {
        type,
        threshold: o.vadThreshold ?? prev.threshold,
        prefixPaddingMs: o.vadPrefixMs ?? prev.prefixPaddingMs,
        silenceDurationMs: o.vadSilenceMs ?? prev.silenceDurationMs,
      };
    } else {
      if (o.vadThreshold !== undefined || o.vadPrefixMs !== undefined || o.vadSilenceMs !== undefined) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', '--vad-* options apply to server_vad only');
      }
      f.turnDetection = { type, eagerness: o.eagerness ?? (cur?.type === 'semantic_vad' ? cur.eagerness : 'auto') };
    }
  }

  if (o.transferTarget !== undefined || o.endCall !== undefined || o.webhooksFile !== undefined) {
    const prev: AgentTools = base?.tools ?? { transferTarget: null, endCall: true, webhooks: [] };
    f.tools = {
      transferTarget: o.transferTarget === undefined ? prev.transferTarget : o.transferTarget === '' ? null : o.transferTarget,
      endCall: o.endCall ?? prev.endCall,
      webhooks: o.webhooksFile === undefined ? prev.webhooks : readWebhooks(o.webhooksFile),
    };
  }
  return f;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function readWebhooks(file: string): AgentTools['webhooks'] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(file));
  } catch (err) {
    if (err instanceof SyntaxError) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `${file} is not valid JSON: ${err.message}`);
    throw err;
  }
  if (!Array.isArray(parsed)) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `${file} must hold a JSON array of tools`);
  return parsed.map((t: unknown, i) => {
    const o = t as Record<string, unknown>;
    if (typeof o?.name !== 'string' || typeof o.url !== 'string' || typeof o.parameters !== 'object' || o.parameters === null) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `tool ${i + 1} in ${file} needs "name", "url" and a "parameters" JSON schema`);
    }
    return {
      name: o.name,
      url: o.url,
      description: typeof o.description === 'string' ? o.description : '',
      parameters: o.parameters as Record<string, unknown>,
    };
  });
}

/** The announcement WAV, read and checked before anything is written. */
async function announcementFrom(o: AgentOptions): Promise<AgentExtras> {
  if (o.recordingAnnouncement === undefined) return {};
  if (o.recordingAnnouncement === false) return { recordingAnnouncement: null };
  const { readPromptWav } = await import('../../media/prompts.js');
  try {
    return { recordingAnnouncement: readPromptWav(o.recordingAnnouncement) };
  } catch (err) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `--recording-announcement: ${(err as Error).message}`);
  }
}

const row = (a: Agent) => ({
  id: a.id,
  name: a.name,
  kind: a.kind,
  model: a.model,
  voice: a.voice,
  audio_mode: a.audioMode,
  turn_detection: a.turnDetection.type,
  max_call_seconds: a.maxCallSeconds,
  transcripts: a.storeTranscripts,
  recording: a.recording,
});

export function agentCommand(): Command {
  const cmd = new Command('agent').description('AI agents that answer an account\'s numbers');

  agentOptions(
    cmd.command('create').description('create an agent').argument('<account>', 'account id or name').argument('<name>', 'agent name'),
  ).action(async (account: string, name: string, o: AgentOptions, c: Command) => {
    const extras = await announcementFrom(o);
    const agent = await withProvisioning(c, async (app) => {
      if (o.kb) await checkBasesExist(app, account, o.kb); // nothing is created when a base name is wrong
      const created = app.provisioning.createAgent(account, { ...fieldsFrom(o, undefined), name }, extras);
      await linkBases(app, account, created.id, o.kb);
      return created;
    });
    if (globals(c).json) printJson(agent);
    else say(`created agent ${agent.name} (${agent.id}) in account ${account}`);
  });

  cmd
    .command('list')
    .description('list an account\'s agents')
    .argument('<account>', 'account id or name')
    .action(async (account: string, _o, c: Command) => {
      const list = await withReader(c, (app) => app.provisioning.listAgents(account));
      if (globals(c).json) printJson(list);
      else printTable(list.map(row), ['id', 'name', 'kind', 'model', 'voice', 'audio_mode', 'turn_detection']);
    });

  cmd
    .command('show')
    .description('show one agent')
    .argument('<account>', 'account id or name')
    .argument('<agent>', 'agent id or name')
    .action(async (account: string, ref: string, _o, c: Command) => {
      const { a, kb } = await withProvisioning(c, async (app) => {
        const a = app.provisioning.agent(account, ref);
        const k = await (await import('./kb.js')).openKb(app);
        try {
          return { a, kb: k.knowledge.basesOfAgent(a.accountId, a.id).map((b) => b.name) };
        } finally {
          await k.close();
        }
      });
      if (globals(c).json) printJson({ ...a, knowledgeBases: kb });
      else printRecord({ ...row(a), instructions: a.instructions, turn_detection: a.turnDetection, tools: a.tools, first_words: a.firstWords, knowledge_bases: kb });
    });

  agentOptions(
    cmd
      .command('update')
      .description('change an agent')
      .argument('<account>', 'account id or name')
      .argument('<agent>', 'agent id or name')
      .option('--name <name>', 'new name'),
  ).action(async (account: string, ref: string, o: AgentOptions, c: Command) => {
    const agent = await withProvisioning(c, async (app) => {
      const cur = app.provisioning.agent(account, ref);
      const patch = fieldsFrom(o, cur);
      const extras = await announcementFrom(o);
      if (Object.keys(patch).length === 0 && extras.recordingAnnouncement === undefined && o.kb === undefined) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'nothing to change; see `kalem agent update --help`');
      }
      if (o.kb) await checkBasesExist(app, account, o.kb);
      const updated =
        Object.keys(patch).length === 0 && extras.recordingAnnouncement === undefined ? cur : app.provisioning.updateAgent(account, ref, patch, extras);
      await linkBases(app, account, updated.id, o.kb);
      return updated;
    });
    if (globals(c).json) printJson(agent);
    else say(`updated agent ${agent.name} (${agent.id})`);
  });

  cmd
    .command('delete')
    .description('delete an agent (its numbers must be removed first)')
    .argument('<account>', 'account id or name')
    .argument('<agent>', 'agent id or name')
    .action(async (account: string, ref: string, _o, c: Command) => {
      await withProvisioning(c, (app) => app.provisioning.deleteAgent(account, ref));
      say(`deleted agent ${ref}`);
    });

  return cmd;
}

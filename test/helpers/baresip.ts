import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Debian's baresip (1.0.0) as a headless test caller: no audio devices, no console. A config
 * directory is written into a temp dir:
 *   - `aufile` is the audio source (a WAV file, 8 kHz mono 16-bit: aufile refuses anything that
 *     does not match the codec's rate); when it reaches the end of the file, baresip's `menu`
 *     module hangs the call up with BYE, so the call lasts as long as the file.
 *   - `sndfile` is an audio filter that dumps what is encoded (sent) and what is decoded
 *     (received) to `dump-<time>-enc.wav` / `-dec.wav` in the same dir.
 *   - `g711` for PCMU/PCMA, `account` for the caller's identity, `menu` for the `/dial` command
 *     given with `-e`. No stdio/cons module: stdin is not a terminal here.
 *   - `net_interface 127.0.0.1` keeps SIP, SDP and RTP on loopback; `sip_listen 127.0.0.1:0`
 *     picks free ports.
 * `-t` is only a safety net: the test waits for the "terminated" line and then stops baresip
 * with SIGTERM (SIGKILL if it does not go).
 *
 * Known limits of this baresip/libre (1.0.0 / libre 1.1.0): it does not verify the server's
 * certificate (`sip_cafile` is loaded, but a certificate from an unrelated CA is accepted too),
 * and libre sends requests only to `sip:` URIs (a `sips:` Contact makes ACK/BYE fail with ENOSYS,
 * "Function not implemented").
 */

export interface BaresipOptions {
  /** CA file for sip_cafile. */
  cafile: string;
  /** WAV file (8 kHz mono s16) played as the microphone. */
  audioSource: string;
  /** The URI to call. */
  dial: string;
  /** Codecs offered, baresip names (default pcmu). */
  codecs?: string;
  /** Safety-net lifetime in seconds (-t). */
  maxSeconds?: number;
  /** Pass -s (SIP trace to stdout). */
  sipTrace?: boolean;
  /**
   * SRTP with SDES (module srtp.so), baresip's `mediaenc` account parameter: `srtp-mand` offers
   * RTP/SAVP with a=crypto and refuses an answer without it; `srtp` offers RTP/AVP with a=crypto;
   * `dtls_srtp` (module dtls_srtp.so) offers UDP/TLS/RTP/SAVP with a=fingerprint (DTLS-SRTP).
   * Absent: plain RTP.
   */
  mediaenc?: 'srtp-mand' | 'srtp' | 'dtls_srtp';
}

export class Baresip {
  readonly dir: string;
  private output = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private listeners: Array<() => void> = [];

  private constructor(dir: string, args: string[]) {
    this.dir = dir;
    this.child = spawn('baresip', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (d: Buffer): void => {
      // The status line is redrawn with \r many times a second; keep the log readable and bounded.
      this.output += d.toString('utf8').replace(/\r\n?/g, '\n');
      if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
      for (const l of this.listeners) l();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.output += `\nspawn error: ${err.message}\n`;
        this.exitCode = null;
        resolve(null);
        for (const l of this.listeners) l();
      });
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
        for (const l of this.listeners) l();
      });
    });
  }

  /** Writes the config into a fresh temp dir and starts baresip dialling `dial`. */
  static start(o: BaresipOptions): Baresip {
    const dir = mkdtempSync(join(tmpdir(), 'kalem-baresip-'));
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll',
        'sip_listen 127.0.0.1:0',
        `sip_cafile ${o.cafile}`,
        'net_interface 127.0.0.1',
        'call_local_timeout 20',
        'call_max_calls 1',
        `audio_source aufile,${o.audioSource}`,
        // No player device exists here; the decoded audio still passes the sndfile filter.
        'audio_player none,none',
        'audio_alert none,none',
        'ausrc_srate 8000',
        'auplay_srate 8000',
        'ausrc_channels 1',
        'auplay_channels 1',
        'audio_buffer 20-160',
        'jitter_buffer_delay 5-10',
        'rtp_stats yes',
        // Below SIPp's ports (test/helpers/ports.ts) and the gateway's test media range.
        'rtp_ports 10000-19998',
        `snd_path ${dir}`,
        'module_path /usr/lib/baresip/modules',
        'module g711.so',
        ...(o.mediaenc === 'dtls_srtp' ? ['module dtls_srtp.so'] : o.mediaenc ? ['module srtp.so'] : []),
        'module aufile.so',
        'module sndfile.so',
        'module_tmp account.so',
        'module_app menu.so',
        '',
      ].join('\n'),
    );
    // regint=0: no REGISTER, the gateway is a trunk endpoint, not a registrar.
    const mediaenc = o.mediaenc ? `;mediaenc=${o.mediaenc}` : '';
    writeFileSync(join(dir, 'accounts'), `<sip:tls-caller@127.0.0.1>;regint=0;audio_codecs=${o.codecs ?? 'pcmu'}${mediaenc};answermode=manual\n`);
    writeFileSync(join(dir, 'contacts'), '');
    const args = ['-f', dir, '-e', `/dial ${o.dial}`, '-t', String(o.maxSeconds ?? 25)];
    if (o.sipTrace) args.push('-s');
    return new Baresip(dir, args);
  }

  get log(): string {
    return this.output;
  }

  /** Resolves with the first match of `re` in the output; rejects on timeout or if baresip exits first. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.output);
        if (m) {
          done();
          resolve(m);
          return true;
        }
        if (this.exitCode !== undefined) {
          done();
          reject(new Error(`baresip exited (${this.exitCode}) before ${re}:\n${this.tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`baresip: no ${re} within ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      this.listeners.push(listener);
      check();
    });
  }

  /** The sndfile dumps of the (single) call: enc = what was sent, dec = what was received. */
  dumps(): { enc: string | undefined; dec: string | undefined } {
    const files = readdirSync(this.dir);
    const pick = (suffix: string): string | undefined => {
      const f = files.filter((x) => x.startsWith('dump-') && x.endsWith(suffix)).sort().at(-1);
      return f && join(this.dir, f);
    };
    return { enc: pick('-enc.wav'), dec: pick('-dec.wav') };
  }

  /** The output without the redrawn status lines and the echo of the typed `-e` command. */
  cleanLog(): string {
    return this.output
      .split('\n')
      .filter((l) => !/audio=\d+\/\d+|^\/dial|^\/\/d/.test(l))
      .join('\n');
  }

  /** The last lines of cleanLog(), for assertion messages. */
  tail(lines = 60): string {
    return this.cleanLog().split('\n').slice(-lines).join('\n');
  }

  /** Stops baresip (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. Idempotent. */
  async stop(): Promise<void> {
    if (this.exitCode === undefined && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  /** Stops and removes the temp dir. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Exit status of a command-line tool, rejecting with its stderr when it fails. */
export async function run(cmd: string, args: string[]): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`);
}

/**
 * A spoken sentence as an 8 kHz mono 16-bit WAV (espeak-ng, resampled by sox), followed by
 * `padS` of silence so the echo of the last word is back before the caller hangs up.
 */
export async function speechWav(dir: string, text: string, padS = 1): Promise<string> {
  const raw = join(dir, 'speech-raw.wav');
  const out = join(dir, 'speech-8k.wav');
  await run('espeak-ng', ['-w', raw, text]);
  await run('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', out, 'pad', '0', String(padS)]);
  return out;
}

/** In baresip's log: the 200 OK for its BYE (the call is over, cleanly), or a session closed by an error. */
export const CALL_OVER = /SIP\/2\.0 200 OK\n(?:(?!SIP\/2\.0 |[A-Z]+ sips?:)[^\n]*\n)*?CSeq: \d+ BYE|session closed: .*/;

/** The SDP baresip offered in its INVITE (from its SIP trace), or ''. */
export function offeredSdp(log: string): string {
  return /\nINVITE sip:[^\n]*\n[\s\S]*?\n\n(v=0\n[\s\S]*?)(?:\n\n|$)/.exec(log)?.[1] ?? '';
}

/** The SDP of the 200 OK baresip got for its INVITE, or ''. */
export function answeredSdp(log: string): string {
  return /\nSIP\/2\.0 200 OK\n(?:[^\n]+\n)*?CSeq: \d+ INVITE\n[\s\S]*?\n\n(v=0\n[\s\S]*?)(?:\n\n|$)/.exec(log)?.[1] ?? '';
}

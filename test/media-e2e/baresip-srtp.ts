import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Baresip } from '../helpers/baresip.js';

export interface SrtpCallerOptions {
  cafile: string;
  /** WAV file (8 kHz mono s16) played as the microphone. */
  audioSource: string;
  dial: string;
  /**
   * baresip's `mediaenc` account parameter: `srtp-mand` offers RTP/SAVP with a=crypto (SDES) and
   * refuses an answer without it; `srtp` offers RTP/AVP with a=crypto (best effort).
   */
  mediaenc: 'srtp-mand' | 'srtp';
  maxSeconds?: number;
}

/**
 * Debian's baresip 1.0.0 calling over TLS with SRTP (SDES, module srtp.so). Same headless set-up as
 * test/helpers/baresip.ts (aufile as microphone, sndfile dumps of what is sent and heard, menu for
 * /dial, SIP trace on stdout with -s), plus `module srtp.so` and the account's `mediaenc`.
 *
 * The shared Baresip class writes its own config and has no SRTP option, and that file belongs to
 * another area; so this writes the config directory and hands it to the same class (its
 * constructor is private to TypeScript only) to reuse its process handling, waitFor and dumps.
 */
export function startSrtpCaller(o: SrtpCallerOptions): Baresip {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-baresip-srtp-'));
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
      'audio_player none,none',
      'audio_alert none,none',
      'ausrc_srate 8000',
      'auplay_srate 8000',
      'ausrc_channels 1',
      'auplay_channels 1',
      'audio_buffer 20-160',
      'jitter_buffer_delay 5-10',
      'rtp_stats yes',
      'rtp_ports 10000-19998',
      `snd_path ${dir}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module srtp.so',
      'module aufile.so',
      'module sndfile.so',
      'module_tmp account.so',
      'module_app menu.so',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'accounts'), `<sip:srtp-caller@127.0.0.1>;regint=0;audio_codecs=pcmu;mediaenc=${o.mediaenc};answermode=manual\n`);
  writeFileSync(join(dir, 'contacts'), '');
  const args = ['-f', dir, '-e', `/dial ${o.dial}`, '-t', String(o.maxSeconds ?? 25), '-s'];
  return Reflect.construct(Baresip, [dir, args]) as Baresip;
}

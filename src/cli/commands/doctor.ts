import { Command } from '../commander.js';
import type { DoctorCheck, DoctorReport } from '../../app/doctor.js';
import { globals } from '../context.js';

/** Where the command writes and how it reports failure; tests pass their own. */
export interface DoctorIo {
  write(text: string): void;
  setExitCode(code: number): void;
}

const processIo: DoctorIo = {
  write: (text) => process.stdout.write(text),
  // runCli returns process.exitCode, so a failed check exits 1 without an error message line.
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

const LABEL: Record<DoctorCheck['status'], string> = { ok: 'OK', warn: 'WARN', fail: 'FAIL' };

/** One line per check: `STATUS name  detail  fix: …`, names aligned. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => {
    const fix = c.fix && c.status !== 'ok' ? `  fix: ${c.fix}` : '';
    return `${LABEL[c.status].padEnd(4)} ${c.name.padEnd(width)}  ${c.detail}${fix}`;
  });
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(failed > 0 ? `${failed} check(s) failed, ${warned} warning(s)` : `no failures, ${warned} warning(s)`);
  return lines.join('\n') + '\n';
}

export function doctorCommand(io: DoctorIo = processIo): Command {
  return new Command('doctor')
    .description('check this installation (config, keys, database, TLS, rtpengine, ports, limits, clock); exit 1 on any failure')
    .option('--rtpengine <host:port>', 'rtpengine ng control address to ping (default: rtpengine.ng_address)')
    .action(async (o: { rtpengine?: string }, c: Command) => {
      const g = globals(c);
      const { runDoctor } = await import('../../app/doctor.js');
      const report = await runDoctor({ configPath: g.config, rtpengineNgAddress: o.rtpengine });
      io.write(g.json ? JSON.stringify(report, null, 2) + '\n' : formatDoctorReport(report));
      if (!report.ok) io.setExitCode(1);
    });
}

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Who holds a listening port, from Linux /proc: the socket's inode from /proc/net/{udp,tcp}[6],
 * then the process with a file descriptor on `socket:[inode]`. Used by `kalem doctor` to tell
 * "the port is taken by the running kalem" (fine) from "something else holds it" (a failure).
 * Only processes this user may inspect are found (root sees all; the kalem user sees its own).
 */
export interface PortHolder {
  pid: number;
  /** The process's command line, NUL separators turned into spaces. */
  cmdline: string;
}

export function findPortHolder(proto: 'udp' | 'tcp', port: number, procRoot = '/proc'): PortHolder | undefined {
  const inodes = new Set<string>();
  for (const file of [`${procRoot}/net/${proto}`, `${procRoot}/net/${proto}6`]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1]!.split(':')[1] ?? '', 16);
      // tcp: only listeners (state 0A); udp: bound sockets (state 07).
      if (localPort === port && (proto === 'udp' || f[3] === '0A') && f[9] !== '0') inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        let cmdline = '';
        try {
          cmdline = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        } catch {
          // exited meanwhile
        }
        return { pid: Number(pid), cmdline };
      }
    }
  }
  return undefined;
}

/** A `kalem serve` process: the installed wrapper or `node …/dist/src/main.js … serve`. */
export function isKalemDaemon(holder: PortHolder): boolean {
  const args = holder.cmdline.split(' ');
  return args.includes('serve') && args.some((a) => /(^|\/)kalem$|\/dist\/src\/main\.js$/.test(a));
}

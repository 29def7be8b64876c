import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KalemSandbox } from '../helpers/kalem-cli.js';

/**
 * systemd readiness: `kalem serve` sends READY=1 on $NOTIFY_SOCKET once its SIP listeners are
 * open, and STOPPING=1 on SIGTERM. The receiving end is a Python AF_UNIX datagram socket standing
 * in for systemd (Node cannot receive on one); it prints each datagram on one line.
 */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    data = s.recv(4096).decode()
    print(data.replace("\\n", "|"), flush=True)
    if "STOPPING=1" in data:
        break
`;

t.test('serve reports READY=1 after the listeners open and STOPPING=1 on SIGTERM', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  const socketPath = join(k.dir, 'notify.sock');
  const receiver = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => receiver.kill());
  const lines = createInterface({ input: receiver.stdout! });
  const received: string[] = [];
  const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
  t.equal(await next(), 'bound');

  const daemon = k.spawn(['serve'], { NOTIFY_SOCKET: socketPath });
  t.teardown(() => daemon.kill('SIGKILL'));
  const ready = await next();
  received.push(ready);
  t.match(ready, /^READY=1\|STATUS=accepting calls on udp\/\d+ tcp\/\d+\|MAINPID=\d+$/);
  t.match(ready, new RegExp(`MAINPID=${daemon.pid}$`), 'sent by the daemon process itself');
  daemon.kill('SIGTERM');
  const stopping = await next();
  t.match(stopping, /^STOPPING=1/);
  const [code] = await once(daemon, 'exit');
  t.equal(code, 0);
});

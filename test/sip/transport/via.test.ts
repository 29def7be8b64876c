import t from 'tap';
import { responseDestination, stampViaValue } from '../../../src/sip/embedded/transport/via.js';
import { parseVia } from '../../../src/sip/embedded/message/index.js';

t.test('RFC 3581 / §18.2.1 stamping of the top Via', async (t) => {
  // Same host, no rport: untouched (the same string, no copy).
  const same = 'SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1';
  t.equal(stampViaValue(same, '198.51.100.7', 5060), same);
  // Different host: received added.
  t.equal(
    stampViaValue('SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK1', '198.51.100.7', 5060),
    'SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK1;received=198.51.100.7',
  );
  // rport asked for: filled with the source port, received added even when the host is the same.
  t.equal(
    stampViaValue('SIP/2.0/UDP 198.51.100.7:5060;rport;branch=z9hG4bK1', '198.51.100.7', 34567),
    'SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1;received=198.51.100.7;rport=34567',
  );
  // Only the first via-parm of a line is touched; a forged received is replaced.
  t.equal(
    stampViaValue('SIP/2.0/UDP 10.0.0.1;received=1.2.3.4;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK0', '192.0.2.9', 5070),
    'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=192.0.2.9, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK0',
  );
  // IPv6 sent-by compared without brackets.
  const v6 = 'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1';
  t.equal(stampViaValue(v6, '2001:db8::1', 5060), v6);
  // A quoted parameter holding ; or , does not confuse the cut.
  t.equal(
    stampViaValue('SIP/2.0/TCP a.example;x="p;q,r";branch=z9hG4bK1;rport', '192.0.2.9', 40000),
    'SIP/2.0/TCP a.example;x="p;q,r";branch=z9hG4bK1;received=192.0.2.9;rport=40000',
  );
});

t.test('response destination per Via (§18.2.2, RFC 3581)', async (t) => {
  const dest = (v: string, tr: 'udp' | 'tcp' | 'tls' = 'udp') => responseDestination(parseVia(v)[0]!, tr);
  t.same(dest('SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK1'), { host: '198.51.100.7', port: 5070, transport: 'udp' });
  t.same(dest('SIP/2.0/UDP h.example;branch=z9hG4bK1'), { host: 'h.example', port: 5060, transport: 'udp' });
  t.same(dest('SIP/2.0/UDP h.example:5070;branch=z9hG4bK1;received=192.0.2.9'), { host: '192.0.2.9', port: 5070, transport: 'udp' });
  t.same(dest('SIP/2.0/UDP h.example:5070;branch=z9hG4bK1;received=192.0.2.9;rport=34567'), {
    host: '192.0.2.9',
    port: 34567,
    transport: 'udp',
  });
  t.same(dest('SIP/2.0/TLS h.example;branch=z9hG4bK1;received=192.0.2.9;rport=34567', 'tls'), {
    host: '192.0.2.9',
    port: 5061,
    transport: 'tls',
  }, 'reliable without a connection: received + sent-by port (default 5061), never the ephemeral rport');
  t.same(dest('SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bK1'), { host: '2001:db8::1', port: 5062, transport: 'udp' });
});

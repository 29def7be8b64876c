import t from 'tap';
import { DEFAULT_SCANNER_USER_AGENTS, ScannerFilter } from '../../../src/sip/scanner-filter.js';

const probe = (userAgent: string | null, fromUser: string | null = '100', toUser: string | null = '+15551234567') => ({ userAgent, fromUser, toUser });

t.test('default User-Agent rules, case-insensitive substrings', async (t) => {
  const f = new ScannerFilter();
  t.same(DEFAULT_SCANNER_USER_AGENTS, ['friendly-scanner', 'sipvicious', 'sipcli', 'sip-cli']);
  const cases: Array<[string, string]> = [
    ['friendly-scanner', 'friendly-scanner'],
    ['Friendly-Scanner', 'friendly-scanner'],
    ['sipvicious-0.3.4', 'sipvicious'],
    ['SIPVicious PRO', 'sipvicious'],
    ['sipcli/v1.8', 'sipcli'],
    ['sip-cli 2.0', 'sip-cli'],
    ['Mozilla/5.0 friendly-scanner (compatible)', 'friendly-scanner'],
  ];
  for (const [ua, pattern] of cases) t.same(f.match(probe(ua)), { rule: 'user-agent', pattern }, ua);
});

t.test('To or From user sipvicious, whatever the User-Agent', async (t) => {
  const f = new ScannerFilter();
  t.same(f.match(probe('Asterisk PBX 18.2.0', 'sipvicious')), { rule: 'from-user', pattern: 'sipvicious' });
  t.same(f.match(probe(null, '100', 'SIPVicious')), { rule: 'to-user', pattern: 'sipvicious' });
  t.same(f.match(probe(null, null, 'sipvicious')), { rule: 'to-user', pattern: 'sipvicious' });
  t.equal(f.match(probe(null, 'sipvicious2')), null, 'the user must be exactly sipvicious');
});

t.test('real carriers and phones are not scanners', async (t) => {
  const f = new ScannerFilter();
  for (const ua of ['Twilio Gateway', 'Telnyx SIP Proxy', 'Asterisk PBX 20.5.0', 'FreeSWITCH-mod_sofia/1.10.11', 'Linphone/5.2.0', 'baresip v1.0.0', '', null]) {
    t.equal(f.match(probe(ua)), null, String(ua));
    t.equal(f.isScanner(probe(ua)), false);
  }
  t.equal(f.match(probe(null, null, null)), null);
});

t.test('configured list replaces the defaults', async (t) => {
  const f = new ScannerFilter(['VaxSIPUserAgent', 'PortSIP VoIP SDK']);
  t.same(f.match(probe('vaxsipuseragent/3.1')), { rule: 'user-agent', pattern: 'vaxsipuseragent' });
  t.same(f.match(probe('PortSIP VoIP SDK 11.2')), { rule: 'user-agent', pattern: 'portsip voip sdk' });
  t.equal(f.match(probe('friendly-scanner')), null, 'defaults no longer apply');
  t.same(f.match(probe('x', 'sipvicious')), { rule: 'from-user', pattern: 'sipvicious' }, 'the user rule always applies');
  t.equal(new ScannerFilter([]).match(probe('friendly-scanner')), null, 'an empty list turns the User-Agent rule off');
});

t.test('an empty pattern (which would match everyone) is refused', async (t) => {
  t.throws(() => new ScannerFilter(['friendly-scanner', '']), TypeError);
  t.throws(() => new ScannerFilter(['  ']), TypeError);
  t.throws(() => new ScannerFilter('sipvicious' as unknown as string[]), TypeError);
});

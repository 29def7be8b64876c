import t from 'tap';
import { normalizeE164, routableE164 } from '../../src/tenancy/e164.js';
import { cidrContains, parseCidr } from '../../src/tenancy/cidr.js';

t.test('E.164 normalisation', async (t) => {
  t.equal(normalizeE164('+1 (415) 555-0100'), '+14155550100');
  t.equal(normalizeE164('+44 20 7946 0958'), '+442079460958');
  t.equal(normalizeE164('020 7946 0958', 'GB'), '+442079460958');
  t.equal(normalizeE164('+49 30 901820'), '+4930901820');
  t.throws(() => normalizeE164('415 555 0100'), { code: 'KALEM_ERR_NATIONAL_NUMBER', message: /add --country/ }, 'a national number without a country says to add one');
  for (const bad of ['123abc', '', '+', '+1 555', '+999 123 4567', 'sip:+14155550100']) {
    t.throws(() => normalizeE164(bad), { code: 'KALEM_ERR_INVALID_E164' }, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('routable forms of a Request-URI user', async (t) => {
  t.equal(routableE164('+14155550100'), '+14155550100');
  t.equal(routableE164('14155550100'), '+14155550100');
  t.equal(routableE164('0014155550100'), '+14155550100');
  t.equal(routableE164('alice'), null);
  t.equal(routableE164('100'), null);
});

t.test('CIDR parsing, IPv4 and IPv6', async (t) => {
  t.equal(parseCidr('203.0.113.7/24').text, '203.0.113.0/24');
  t.equal(parseCidr('198.51.100.1').text, '198.51.100.1/32');
  t.equal(parseCidr('2001:DB8::1/32').text, '2001:db8::/32');
  t.equal(parseCidr('::1').text, '::1/128');
  for (const bad of ['10.0.0.0/33', '10.0.0/8', '300.1.1.1', '2001:db8::/129', 'example.com', '10.0.0.0/x', '', '1.2.3.4/']) {
    t.throws(() => parseCidr(bad), { code: 'KALEM_ERR_INVALID_CIDR' }, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('CIDR matching', async (t) => {
  const v4 = parseCidr('203.0.113.0/24');
  t.ok(cidrContains(v4, '203.0.113.200'));
  t.notOk(cidrContains(v4, '203.0.114.1'));
  t.ok(cidrContains(v4, '::ffff:203.0.113.9'), 'IPv4-mapped IPv6 source matches an IPv4 range');
  const v6 = parseCidr('2001:db8::/32');
  t.ok(cidrContains(v6, '2001:db8:1::5'));
  t.notOk(cidrContains(v6, '2001:db9::5'));
  t.notOk(cidrContains(v6, '203.0.113.1'));
  t.notOk(cidrContains(v4, 'garbage'));
});

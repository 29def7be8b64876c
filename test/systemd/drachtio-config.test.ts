// config/drachtio.conf.xml and systemd/drachtio-server.service: the sample keeps the admin port on
// loopback with the secret outside both files, listens where carriers expect SIP, and turns known
// scanners away. drachtio-server itself is not packaged in Debian, so this reads the files; the
// element names are the ones drachtio-server's own config parser looks up.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers.js';
import { parseUnitFile, unitValue, unitValues } from './unit-file.js';

const ROOT = repoRoot();
const xml = readFileSync(join(ROOT, 'config', 'drachtio.conf.xml'), 'utf8');
const unitText = readFileSync(join(ROOT, 'systemd', 'drachtio-server.service'), 'utf8');

interface XmlElement {
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: XmlElement[];
  text: string;
}

/**
 * Just enough XML for a config file: elements, attributes, text, comments and the declaration.
 * Throws on unbalanced or stray tags, so a broken edit of the sample fails here.
 */
function parseXml(source: string): XmlElement {
  const body = source.replace(/<\?xml[^?]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const root: XmlElement = { name: '#document', attrs: new Map(), children: [], text: '' };
  const stack: XmlElement[] = [root];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w.-]+="[^"]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of body.matchAll(token)) {
    const top = stack[stack.length - 1];
    if (top === undefined) throw new TypeError('unbalanced XML');
    if (m[6] !== undefined) throw new TypeError(`stray '<' at offset ${m.index}`);
    if (m[5] !== undefined) {
      top.text += m[5];
      continue;
    }
    const [, closing, name = '', attrText = '', selfClosing] = m;
    if (closing === '/') {
      if (top.name !== name) throw new TypeError(`</${name}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs = new Map([...attrText.matchAll(/([\w.-]+)="([^"]*)"/g)].map((a) => [a[1] ?? '', a[2] ?? '']));
    const el: XmlElement = { name, attrs, children: [], text: '' };
    top.children.push(el);
    if (selfClosing !== '/') stack.push(el);
  }
  if (stack.length !== 1) throw new TypeError(`unclosed <${stack[stack.length - 1]?.name}>`);
  return root;
}

function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}
function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return el?.children.filter((c) => c.name === name) ?? [];
}

t.test('xml reader rejects broken markup', async (t) => {
  t.throws(() => parseXml('<a><b></a>'), TypeError);
  t.throws(() => parseXml('<a>'), TypeError);
  t.equal(child(parseXml('<a x="1"><b/></a>'), 'a')?.attrs.get('x'), '1');
});

t.test('drachtio.conf.xml', async (t) => {
  const doc = parseXml(xml);
  const drachtio = child(doc, 'drachtio');
  t.ok(drachtio, 'root element <drachtio>');

  const admin = child(drachtio, 'admin');
  t.equal(admin?.text.trim(), '127.0.0.1', 'admin port bound to loopback');
  t.equal(admin?.attrs.get('port'), '9022', 'admin port 9022');
  t.notOk(admin?.attrs.has('secret'), 'no secret in the config file (it comes from DRACHTIO_SECRET)');

  const sip = child(drachtio, 'sip');
  const contacts = children(child(sip, 'contacts'), 'contact').map((c) => c.text.trim());
  t.ok(contacts.includes('sip:*:5060;transport=udp,tcp'), 'UDP and TCP on 5060');
  t.ok(contacts.includes('sips:*:5061;transport=tls'), 'TLS on 5061');
  const tls = child(sip, 'tls');
  for (const f of ['key-file', 'cert-file']) {
    t.match(child(tls, f)?.text.trim() ?? '', /^\/etc\/drachtio\/tls\/\S+\.pem$/, `TLS ${f} path`);
  }

  const spammers = child(sip, 'spammers');
  t.match(spammers?.attrs.get('action') ?? '', /^(reject|discard)$/, 'spammers have an action');
  t.match(spammers?.attrs.get('tcp-action') ?? '', /^(reject|discard)$/, 'and a TCP action');
  const valuesOf = (header: string): string[] =>
    children(spammers, 'header')
      .filter((h) => h.attrs.get('name') === header)
      .flatMap((h) => children(h, 'value').map((v) => v.text.trim()));
  for (const ua of ['friendly-scanner', 'sipvicious', 'sipcli', 'sip-cli']) {
    t.ok(valuesOf('User-Agent').includes(ua), `User-Agent ${ua} is turned away`);
  }
  t.ok(valuesOf('To').includes('sipvicious'), 'To sipvicious is turned away');
  t.ok(valuesOf('From').includes('sipvicious'), 'From sipvicious is turned away');

  t.not(child(child(drachtio, 'logging'), 'loglevel')?.text.trim(), 'debug', 'debug logging (logs secrets) is off');
});

t.test('drachtio-server.service keeps the secret out of the unit and argv', async (t) => {
  const unit = parseUnitFile(unitText);
  t.equal(unitValue(unit, 'Service', 'EnvironmentFile'), '/etc/drachtio/drachtio.env', 'secret from a root-only file');
  t.notMatch(unitText, /^\s*Environment=.*DRACHTIO_SECRET/m, 'no inline Environment=DRACHTIO_SECRET');
  const execStart = unitValue(unit, 'Service', 'ExecStart') ?? '';
  t.notMatch(execStart, /--secret/, 'no --secret on the command line');
  t.match(execStart, /--file \/etc\/drachtio\/drachtio\.conf\.xml/, 'runs the installed config');
  t.notMatch(execStart, /--daemon/, 'stays in the foreground');
  const pre = unitValues(unit, 'Service', 'ExecStartPre').join('\n');
  t.match(pre, /\$\$DRACHTIO_SECRET/, 'the start guard escapes $ so systemd does not expand the secret into argv');
  t.equal(unitValue(unit, 'Service', 'CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
  t.equal(unitValue(unit, 'Service', 'User'), 'drachtio', 'not root');
});

t.test('drachtio-server.service runs it the way the real-server tests proved it must run', async (t) => {
  const unit = parseUnitFile(unitText);
  const execStart = unitValue(unit, 'Service', 'ExecStart') ?? '';
  t.match(execStart, /(^|\s)--disable-nat-detection(\s|$)/, 'NAT detection off (it crashes on a Contact without a host)');
  t.ok(unitValues(unit, 'Service', 'Environment').some((e) => /^DRACHTIO_SUPPORT_BEST_EFFORT_TLS=1$/.test(e.trim())), 'best-effort TLS Contact for TLS callers');
  t.equal(unitValue(unit, 'Service', 'Restart'), 'on-failure', 'restarted if it dies');
  t.match(xml, /603 Decline itself: it does so with action="discard"/, 'the sample config does not claim "discard" keeps scanners unanswered');
  t.notMatch(xml, /drops the request without an answer/, 'the old wrong claim is gone');
});

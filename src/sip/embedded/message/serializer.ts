/**
 * SIP message serializer: start line, headers with canonical capitalisation (`Call-ID`, `CSeq`,
 * `WWW-Authenticate`), a Content-Length computed from the body (any Content-Length header in the
 * message is ignored), the empty line, the body.
 *
 * Names and values must not hold CR or LF: a value built from caller input (a display name, a
 * reason phrase) could otherwise inject header lines, so that is a TypeError here.
 */

import type { SipMessage } from './types.js';
import { canonicalName } from './header-names.js';
import { isToken } from './lex.js';

function checkText(what: string, s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) throw new TypeError(`${what} must not contain CR or LF`);
  }
}

export function serializeMessage(msg: SipMessage): Buffer {
  let head: string;
  if (msg.kind === 'request') {
    if (!isToken(msg.method)) throw new TypeError(`invalid SIP method ${JSON.stringify(msg.method)}`);
    if (msg.uri.length === 0 || /[\s]/.test(msg.uri)) throw new TypeError(`invalid Request-URI ${JSON.stringify(msg.uri)}`);
    head = `${msg.method} ${msg.uri} SIP/2.0\r\n`;
  } else {
    if (!Number.isInteger(msg.status) || msg.status < 100 || msg.status > 699) {
      throw new TypeError(`invalid SIP status ${msg.status}`);
    }
    checkText('reason phrase', msg.reason);
    head = `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  }
  for (const h of msg.headers.list) {
    if (h.name === 'content-length') continue;
    if (!isToken(h.name)) throw new TypeError(`invalid header name ${JSON.stringify(h.name)}`);
    checkText(`header ${h.name}`, h.value);
    head += canonicalName(h.name) + ': ' + h.value + '\r\n';
  }
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + msg.body.length);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLen);
  return out;
}

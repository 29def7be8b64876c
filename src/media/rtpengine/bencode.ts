/**
 * Bencode, the encoding of rtpengine's ng control protocol: byte strings (`4:spam`), integers
 * (`i42e`), lists (`l…e`) and dictionaries (`d…e`). rtpengine also accepts JSON, but replies in
 * the encoding it was asked in and is bencode-native, so we speak bencode.
 *
 * Strings are decoded as UTF-8 (SDP is ASCII; call-ids and tags are opaque tokens). Dictionary
 * keys are written sorted, as the bencode standard asks (rtpengine does not insist on it).
 */

export type BencodeValue = string | number | BencodeValue[] | { [key: string]: BencodeValue };

/** Values that may appear in an encoded message; `undefined` members of objects are skipped. */
export type BencodeInput =
  | string
  | number
  | boolean
  | Buffer
  | readonly BencodeInput[]
  | { readonly [key: string]: BencodeInput | undefined };

export function bencodeEncode(value: BencodeInput): Buffer {
  const parts: Buffer[] = [];
  encodeInto(value, parts);
  return Buffer.concat(parts);
}

function encodeInto(value: BencodeInput, out: Buffer[]): void {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    out.push(Buffer.from(`${bytes.length}:`), bytes);
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`bencode has integers only, got ${value}`);
    out.push(Buffer.from(`i${value}e`));
  } else if (typeof value === 'boolean') {
    // ng has no booleans; its flags are strings. An integer is the least surprising mapping.
    out.push(Buffer.from(value ? 'i1e' : 'i0e'));
  } else if (Buffer.isBuffer(value)) {
    out.push(Buffer.from(`${value.length}:`), value);
  } else if (Array.isArray(value)) {
    out.push(Buffer.from('l'));
    for (const item of value as readonly BencodeInput[]) encodeInto(item, out);
    out.push(Buffer.from('e'));
  } else {
    const dict = value as { readonly [key: string]: BencodeInput | undefined };
    out.push(Buffer.from('d'));
    for (const key of Object.keys(dict).sort()) {
      const v = dict[key];
      if (v === undefined) continue;
      encodeInto(key, out);
      encodeInto(v, out);
    }
    out.push(Buffer.from('e'));
  }
}

/** Decodes one complete value; throws `SyntaxError` on malformed input or trailing bytes. */
export function bencodeDecode(input: Buffer): BencodeValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`bencode: ${what} at byte ${i}`);
  };
  const readUntil = (stop: number): string => {
    const end = input.indexOf(stop, i);
    if (end < 0) fail('unterminated token');
    const text = input.toString('latin1', i, end);
    i = end + 1;
    return text;
  };
  const value = (depth: number): BencodeValue => {
    if (depth > 64) fail('nesting too deep');
    const c = input[i];
    if (c === undefined) return fail('unexpected end');
    if (c === 0x69 /* i */) {
      i++;
      const text = readUntil(0x65 /* e */);
      if (!/^-?\d+$/.test(text)) fail(`bad integer "${text}"`);
      return Number(text);
    }
    if (c === 0x6c /* l */) {
      i++;
      const items: BencodeValue[] = [];
      while (input[i] !== 0x65) {
        if (i >= input.length) fail('unterminated list');
        items.push(value(depth + 1));
      }
      i++;
      return items;
    }
    if (c === 0x64 /* d */) {
      i++;
      const dict: { [key: string]: BencodeValue } = {};
      while (input[i] !== 0x65) {
        if (i >= input.length) fail('unterminated dictionary');
        const key = value(depth + 1);
        if (typeof key !== 'string') fail('dictionary key is not a string');
        dict[key as string] = value(depth + 1);
      }
      i++;
      return dict;
    }
    if (c >= 0x30 && c <= 0x39) {
      const lenText = readUntil(0x3a /* : */);
      if (!/^\d+$/.test(lenText)) fail(`bad string length "${lenText}"`);
      const len = Number(lenText);
      if (i + len > input.length) fail('string runs past the end');
      const text = input.toString('utf8', i, i + len);
      i += len;
      return text;
    }
    return fail(`unexpected byte 0x${c.toString(16)}`);
  };
  const result = value(0);
  if (i !== input.length) fail('trailing bytes');
  return result;
}

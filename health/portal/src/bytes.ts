// Byte helpers: UTF-8, base64url (JOSE), base64 (the gateway's bodies), hex.
// Decoders are strict: a non-canonical or malformed encoding is refused, so
// two different strings never decode to the same bytes (a token's signature
// covers the text, and the checks after it read the bytes).

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** utf8 encodes a string. */
export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/** fromUTF8 decodes UTF-8, throwing on invalid sequences. */
export function fromUTF8(b: Uint8Array): string {
  return dec.decode(b);
}

/** concat joins byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** equal compares two byte arrays without an early exit on the first difference. */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** u16 is I2OSP(n, 2): big-endian. */
export function u16(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function encode(b: Uint8Array, alphabet: string, pad: boolean): string {
  let out = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += alphabet[(v >> 18) & 63]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]! + alphabet[v & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const v = b[i]! << 16;
    out += alphabet[(v >> 18) & 63]! + alphabet[(v >> 12) & 63]! + (pad ? "==" : "");
  } else if (rest === 2) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8);
    out += alphabet[(v >> 18) & 63]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]! + (pad ? "=" : "");
  }
  return out;
}

function decode(s: string, alphabet: string, pad: boolean): Uint8Array {
  let body = s;
  if (pad) {
    if (s.length % 4 !== 0) throw new SyntaxError("base64: length not a multiple of 4");
    if (s.endsWith("==")) body = s.slice(0, -2);
    else if (s.endsWith("=")) body = s.slice(0, -1);
  }
  if (body.length % 4 === 1) throw new SyntaxError("base64: impossible length");
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const v = alphabet.indexOf(body[i]!);
    if (v < 0) throw new SyntaxError("base64: invalid character at offset " + i);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Canonical encodings have zero padding bits: otherwise two strings
  // would decode to the same bytes.
  if ((acc & ((1 << bits) - 1)) !== 0) throw new SyntaxError("base64: non-canonical trailing bits");
  return out;
}

/** b64url encodes without padding (RFC 7515 §2). */
export function b64url(b: Uint8Array): string {
  return encode(b, B64URL, false);
}

/** fromB64url decodes unpadded base64url strictly. */
export function fromB64url(s: string): Uint8Array {
  return decode(s, B64URL, false);
}

/** b64 encodes standard padded base64 (RFC 4648 §4). */
export function b64(b: Uint8Array): string {
  return encode(b, B64, true);
}

/** fromB64 decodes standard padded base64 strictly. */
export function fromB64(s: string): Uint8Array {
  return decode(s, B64, true);
}

/** hex encodes lowercase hex. */
export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** fromHex decodes hex (either case). */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new SyntaxError("hex: invalid");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** buf returns the bytes as an ArrayBuffer-backed view WebCrypto accepts in every TS lib version. */
export function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b) as Uint8Array<ArrayBuffer>;
}

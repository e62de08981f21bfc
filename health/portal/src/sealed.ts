// Sealed messages (application/vnd.cofre.sealed-v1), the client side of
// docs/sealed.md byte for byte: a request body HPKE-sealed to the care API's
// key (whose JWK comes from its verified attestation token), and the
// response opened with the state of that request (OHTTP-style, RFC 9458
// §4.4, with cofre's labels).
//
// What it protects: the request and response bodies, against everything
// between the browser and the attested service (a TLS-terminating proxy,
// the static host, a CDN). Bound to one key (its thumbprint is in the HPKE
// info) and one endpoint (the context is the AEAD additional data).
// What it does not: client authentication (base mode is anonymous; the
// session cookie does that), replay of a captured request (the replayer
// cannot read the answer; gateway.ts puts a nonce and a time inside the
// seal for the care API to refuse repeats), lengths, headers, the status
// code.

import { b64url, concat, equal, fromB64url, u16, utf8 } from "./bytes.js";
import { AEAD_AES_256_GCM, Context, HPKEError, KDF_HKDF_SHA256, KEM_P256, KEM_X25519, type KEMID, importPublicKey, isKEM, nenc, setupBaseS, hkdfExpand, hkdfExtract } from "./hpke.js";
import { MAX_CONTEXT_SIZE, MAX_JWK_SIZE, MAX_SEALED_BODY } from "./limits.js";
import { type ThumbprintMembers, thumbprint, thumbprintInput as tpInput } from "./thumbprint.js";

export const MEDIA_TYPE = "application/vnd.cofre.sealed-v1";

/** Kinds of SealedError, so callers and tests can tell refusals apart. */
export type SealedErrorKind = "malformed" | "suite" | "too-large" | "open";

/** SealedError is a refusal to parse, seal or open. Its message carries no key or plaintext bytes. */
export class SealedError extends Error {
  override name = "SealedError";
  constructor(
    readonly kind: SealedErrorKind,
    message: string,
  ) {
    super("sealed: " + message);
  }
}

/** RecipientKey is a service's HPKE public key, parsed from its JWK. */
export interface RecipientKey {
  readonly kem: KEMID;
  /** raw is SerializePublicKey: a 65-byte uncompressed point or 32 bytes. */
  readonly raw: Uint8Array;
  /** keyID is the RFC 7638 SHA-256 thumbprint (32 bytes), bound into the HPKE info. */
  readonly keyID: Uint8Array;
  /** kid is keyID as base64url. */
  readonly kid: string;
}

const JWK_MEMBERS = new Set(["kty", "crv", "x", "y", "use", "kid", "alg", "key_ops"]);

function clip(s: string): string {
  return s.length > 64 ? s.slice(0, 64) + "…" : s;
}

function coord(v: unknown, name: string): Uint8Array {
  let b: Uint8Array | undefined;
  if (typeof v === "string") {
    try {
      b = fromB64url(v);
    } catch {
      b = undefined;
    }
  }
  if (b === undefined || b.length !== 32) throw new SealedError("malformed", `jwk ${name} is not 32 bytes of base64url`);
  return b;
}

/** thumbprintInput is the RFC 7638 §3.2 input of a raw key, as docs/sealed.md specifies (thumbprint.ts writes it). */
export function thumbprintInput(kem: KEMID, raw: Uint8Array): string {
  return tpInput(members(kem, raw));
}

function members(kem: KEMID, raw: Uint8Array): ThumbprintMembers {
  if (kem === KEM_P256) return { kty: "EC", crv: "P-256", x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33, 65)) };
  return { kty: "OKP", crv: "X25519", x: b64url(raw) };
}

/** recipientKey builds a RecipientKey from a raw public key, validating the point. */
export async function recipientKey(kem: KEMID, raw: Uint8Array): Promise<RecipientKey> {
  try {
    await importPublicKey(kem, raw);
  } catch (e) {
    if (kem === KEM_X25519 && !(await x25519Supported())) {
      throw new SealedError("suite", "this browser's WebCrypto has no X25519; the service's key cannot be used");
    }
    throw new SealedError("malformed", "jwk is not a valid public key");
  }
  const { digest, kid } = await thumbprint(members(kem, raw));
  return { kem, raw, keyID: digest, kid };
}

let x25519: Promise<boolean> | undefined;

/** x25519Supported reports whether this WebCrypto implements X25519. */
export function x25519Supported(): Promise<boolean> {
  x25519 ??= globalThis.crypto.subtle
    .generateKey({ name: "X25519" }, false, ["deriveBits"])
    .then(() => true)
    .catch(() => false);
  return x25519;
}

/**
 * parsePublicJWK parses the service's public JWK (the token's cnf.jwk): kty "EC" crv
 * "P-256" or kty "OKP" crv "X25519". Like the Go side (sealed.ParsePublicJWK) it refuses
 * a private member ("d") or any member outside kty crv x y use kid alg key_ops, a use
 * other than "enc", and a kid that is not the key's thumbprint.
 */
export async function parsePublicJWK(jwk: unknown): Promise<RecipientKey> {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw new SealedError("malformed", "jwk is not an object");
  if (JSON.stringify(jwk).length > MAX_JWK_SIZE) throw new SealedError("too-large", `jwk over ${MAX_JWK_SIZE} bytes`);
  const j = jwk as Record<string, unknown>;
  for (const k of Object.keys(j)) {
    // "d" falls here too: a published private key must never be used.
    if (!JWK_MEMBERS.has(k)) throw new SealedError("malformed", `jwk member ${JSON.stringify(clip(k))} not allowed`);
  }
  if (j.use !== undefined && j.use !== "enc") throw new SealedError("malformed", `jwk use ${JSON.stringify(clip(String(j.use)))}, want "enc"`);
  let kem: KEMID;
  let raw: Uint8Array;
  const x = coord(j.x, "x");
  if (j.kty === "OKP" && j.crv === "X25519") {
    if (j.y !== undefined) throw new SealedError("malformed", "jwk y member on an X25519 key");
    kem = KEM_X25519;
    raw = x;
  } else if (j.kty === "EC" && j.crv === "P-256") {
    kem = KEM_P256;
    raw = concat(new Uint8Array([0x04]), x, coord(j.y, "y"));
  } else {
    throw new SealedError("suite", `jwk kty ${JSON.stringify(clip(String(j.kty)))} crv ${JSON.stringify(clip(String(j.crv)))} (want OKP X25519 or EC P-256)`);
  }
  const k = await recipientKey(kem, raw);
  if (j.kid !== undefined && j.kid !== k.kid) {
    throw new SealedError("malformed", `jwk kid ${JSON.stringify(clip(String(j.kid)))} is not the key's thumbprint ${k.kid}`);
  }
  return k;
}

const REQUEST_LABEL = "cofre sealed request v1";
const RESPONSE_LABEL = "cofre sealed response v1";
const RESPONSE_NONCE_SIZE = 32; // max(Nn, Nk)
const TAG_SIZE = 16;
const HDR_SIZE = 6;

/** header is kem_id ‖ kdf_id ‖ aead_id, big-endian. */
export function header(kem: KEMID): Uint8Array {
  return concat(u16(kem), u16(KDF_HKDF_SHA256), u16(AEAD_AES_256_GCM));
}

/** requestInfo is "cofre sealed request v1" ‖ 0x00 ‖ hdr ‖ keyID (62 bytes). */
export function requestInfo(kem: KEMID, keyID: Uint8Array): Uint8Array {
  return concat(utf8(REQUEST_LABEL), new Uint8Array([0]), header(kem), keyID);
}

/** parseHeader reads and checks a body's 6-byte suite header. */
export function parseHeader(body: Uint8Array): KEMID {
  if (body.length < HDR_SIZE) throw new SealedError("malformed", "body shorter than its header");
  const kem = (body[0]! << 8) | body[1]!;
  const kdf = (body[2]! << 8) | body[3]!;
  const aead = (body[4]! << 8) | body[5]!;
  if (!isKEM(kem) || kdf !== KDF_HKDF_SHA256 || aead !== AEAD_AES_256_GCM) {
    throw new SealedError("suite", `suite kem 0x${kem.toString(16).padStart(4, "0")} kdf 0x${kdf.toString(16).padStart(4, "0")} aead 0x${aead.toString(16).padStart(4, "0")} not accepted`);
  }
  return kem;
}

/** checkContext checks a context string ("METHOD /path") and returns its bytes. */
export function checkContext(context: string): Uint8Array {
  const b = utf8(context);
  if (b.length === 0 || b.length > MAX_CONTEXT_SIZE) throw new SealedError("malformed", `context of ${b.length} bytes (want 1 to ${MAX_CONTEXT_SIZE})`);
  return b;
}

/** responseKey derives the response AEAD key and nonce (docs/sealed.md, Response). */
export async function responseKey(secret: Uint8Array, enc: Uint8Array, responseNonce: Uint8Array): Promise<{ key: CryptoKey; nonce: Uint8Array }> {
  const prk = await hkdfExtract(concat(enc, responseNonce), secret);
  const kb = await hkdfExpand(prk, utf8("key"), 32);
  const nonce = await hkdfExpand(prk, utf8("nonce"), 12);
  const key = await globalThis.crypto.subtle.importKey("raw", new Uint8Array(kb), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  kb.fill(0);
  return { key, nonce };
}

/** exportResponseSecret is ctx.Export("cofre sealed response v1", 32). */
export function exportResponseSecret(ctx: Context): Promise<Uint8Array> {
  return ctx.export(utf8(RESPONSE_LABEL), 32);
}

/** ResponseOpener opens the sealed response to one request. */
export class ResponseOpener {
  readonly #secret: Uint8Array;
  readonly #enc: Uint8Array;
  readonly #aad: Uint8Array;
  constructor(secret: Uint8Array, enc: Uint8Array, aad: Uint8Array) {
    this.#secret = secret;
    this.#enc = enc;
    this.#aad = aad;
  }

  /** open returns the response plaintext; every failure is one SealedError of kind "open". */
  async open(body: Uint8Array): Promise<Uint8Array> {
    if (body.length > MAX_SEALED_BODY) throw new SealedError("too-large", `response of ${body.length} bytes (limit ${MAX_SEALED_BODY})`);
    if (body.length < RESPONSE_NONCE_SIZE + TAG_SIZE) throw new SealedError("open", "the sealed response could not be opened");
    const { key, nonce } = await responseKey(this.#secret, this.#enc, body.subarray(0, RESPONSE_NONCE_SIZE));
    try {
      const pt = await globalThis.crypto.subtle.decrypt({ name: "AES-GCM", iv: new Uint8Array(nonce), additionalData: new Uint8Array(this.#aad), tagLength: 128 }, key, new Uint8Array(body.subarray(RESPONSE_NONCE_SIZE)));
      return new Uint8Array(pt);
    } catch {
      throw new SealedError("open", "the sealed response could not be opened");
    }
  }
}

/**
 * sealRequest seals plaintext to key for context ("POST /api/sealed"). It returns the
 * body to send and the opener for the response. ephemeral is for known-answer tests only.
 */
export async function sealRequest(key: RecipientKey, context: string, plaintext: Uint8Array, ephemeral?: CryptoKeyPair): Promise<{ body: Uint8Array; opener: ResponseOpener }> {
  const aad = checkContext(context);
  const size = HDR_SIZE + nenc(key.kem) + plaintext.length + TAG_SIZE;
  if (size > MAX_SEALED_BODY) throw new SealedError("too-large", `request of ${size} bytes (limit ${MAX_SEALED_BODY})`);
  let s: { enc: Uint8Array; ctx: Context };
  try {
    s = await setupBaseS(key.kem, key.raw, requestInfo(key.kem, key.keyID), ephemeral);
  } catch (e) {
    throw new SealedError("malformed", e instanceof HPKEError ? e.message : "hpke setup failed");
  }
  const ct = await s.ctx.seal(aad, plaintext);
  const secret = await exportResponseSecret(s.ctx);
  return { body: concat(header(key.kem), s.enc, ct), opener: new ResponseOpener(secret, s.enc, aad) };
}

/** sameKey reports whether two recipient keys are the same key. */
export function sameKey(a: RecipientKey, b: RecipientKey): boolean {
  return a.kem === b.kem && equal(a.raw, b.raw);
}

/** Sizes exported for the test-only server and the tests. */
export const sizes = { header: HDR_SIZE, responseNonce: RESPONSE_NONCE_SIZE, tag: TAG_SIZE } as const;

// HPKE (RFC 9180) base mode on WebCrypto, for the two suites cofre accepts:
// DHKEM(P-256, HKDF-SHA256) or DHKEM(X25519, HKDF-SHA256), with HKDF-SHA256
// and AES-256-GCM. Written by hand on WebCrypto (HMAC for the labeled
// extract and expand, ECDH/X25519 for the DH, AES-GCM for the AEAD) rather
// than through an npm HPKE library: the whole primitive is ~200 lines that
// can be read against the RFC, and the browser's own crypto does every
// secret-dependent operation.
//
// Not here: PSK and auth modes, other KEMs/KDFs/AEADs, DeriveKeyPair (keys
// come from WebCrypto's generator), and the cofre message framing (sealed.ts).

import { b64url, buf, concat, u16, utf8 } from "./bytes.js";

/** KEM ids of RFC 9180 §7.1 that cofre accepts. */
export const KEM_P256 = 0x0010;
export const KEM_X25519 = 0x0020;
export type KEMID = typeof KEM_P256 | typeof KEM_X25519;

/** The only KDF (HKDF-SHA256) and AEAD (AES-256-GCM), RFC 9180 §7.2–7.3. */
export const KDF_HKDF_SHA256 = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;

const Nh = 32; // HKDF-SHA256 output
const Nk = 32; // AES-256 key
const Nn = 12; // GCM nonce
const Nsecret = 32; // DHKEM(P-256|X25519, HKDF-SHA256)

/** HPKEError is any HPKE failure. Its message never carries key or plaintext bytes. */
export class HPKEError extends Error {
  override name = "HPKEError";
}

/** nenc is Nenc, the encapsulated key's length: 65 (uncompressed P-256 point) or 32. */
export function nenc(kem: KEMID): number {
  return kem === KEM_P256 ? 65 : 32;
}

function kemAlgorithm(kem: KEMID): EcKeyImportParams | Algorithm {
  return kem === KEM_P256 ? { name: "ECDH", namedCurve: "P-256" } : { name: "X25519" };
}

/** isKEM reports whether n is an accepted KEM id. */
export function isKEM(n: number): n is KEMID {
  return n === KEM_P256 || n === KEM_X25519;
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

// --- HKDF-SHA256 as separate extract and expand (RFC 5869) ---

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  // RFC 5869 §2.2: an absent salt is HashLen zero bytes; HMAC pads keys
  // with zeros to the block size, so the two are the same key. WebCrypto
  // refuses a zero-length HMAC key, hence the substitution.
  const k = key.length === 0 ? new Uint8Array(Nh) : key;
  const ck = await subtle().importKey("raw", buf(k), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle().sign("HMAC", ck, buf(data)));
}

/** hkdfExtract is HKDF-Extract(salt, ikm) with SHA-256. */
export async function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
  return hmac(salt, ikm);
}

/** hkdfExpand is HKDF-Expand(prk, info, L) with SHA-256, L ≤ 255·32. */
export async function hkdfExpand(prk: Uint8Array, info: Uint8Array, L: number): Promise<Uint8Array> {
  if (L > 255 * Nh) throw new HPKEError("hkdf: output too long");
  const out = new Uint8Array(L);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, off = 0; off < L; i++) {
    t = await hmac(prk, concat(t, info, new Uint8Array([i])));
    out.set(t.subarray(0, Math.min(Nh, L - off)), off);
    off += Nh;
  }
  return out;
}

const HPKE_V1 = utf8("HPKE-v1");

function labeledExtract(suiteID: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Promise<Uint8Array> {
  return hkdfExtract(salt, concat(HPKE_V1, suiteID, utf8(label), ikm));
}

function labeledExpand(suiteID: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, L: number): Promise<Uint8Array> {
  return hkdfExpand(prk, concat(u16(L), HPKE_V1, suiteID, utf8(label), info), L);
}

// --- DHKEM (RFC 9180 §4.1) ---

function kemSuiteID(kem: KEMID): Uint8Array {
  return concat(utf8("KEM"), u16(kem));
}

/** importPublicKey deserializes a public key (65-byte uncompressed point or 32 bytes); WebCrypto checks the point is on the curve. */
export async function importPublicKey(kem: KEMID, raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== nenc(kem) || (kem === KEM_P256 && raw[0] !== 0x04)) {
    throw new HPKEError("public key: wrong length or encoding");
  }
  try {
    return await subtle().importKey("raw", buf(raw), kemAlgorithm(kem), true, []);
  } catch {
    throw new HPKEError("public key: not a valid point");
  }
}

/** generateKeyPair returns a fresh key pair; the private half is not extractable. */
export async function generateKeyPair(kem: KEMID): Promise<CryptoKeyPair> {
  return (await subtle().generateKey(kemAlgorithm(kem), false, ["deriveBits"])) as CryptoKeyPair;
}

/**
 * importKeyPair imports a raw private key with its public key (for known-answer tests
 * and the test-only server). The private key is not extractable.
 */
export async function importKeyPair(kem: KEMID, sk: Uint8Array, pk: Uint8Array): Promise<CryptoKeyPair> {
  const jwk: JsonWebKey =
    kem === KEM_P256
      ? { kty: "EC", crv: "P-256", d: b64url(sk), x: b64url(pk.subarray(1, 33)), y: b64url(pk.subarray(33, 65)) }
      : { kty: "OKP", crv: "X25519", d: b64url(sk), x: b64url(pk) };
  const privateKey = await subtle().importKey("jwk", jwk, kemAlgorithm(kem), false, ["deriveBits"]);
  const publicKey = await importPublicKey(kem, pk);
  return { privateKey, publicKey };
}

async function serialize(pk: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle().exportKey("raw", pk));
}

async function dh(kem: KEMID, sk: CryptoKey, pk: CryptoKey): Promise<Uint8Array> {
  const alg = kem === KEM_P256 ? { name: "ECDH", public: pk } : { name: "X25519", public: pk };
  let z: Uint8Array;
  try {
    z = new Uint8Array(await subtle().deriveBits(alg, sk, 256));
  } catch {
    throw new HPKEError("dh failed");
  }
  // RFC 9180 §7.1.4: an all-zero X25519 output (a small-order public key)
  // must be refused.
  if (z.every((x) => x === 0)) throw new HPKEError("dh produced the all-zero value");
  return z;
}

async function extractAndExpand(kem: KEMID, z: Uint8Array, kemContext: Uint8Array): Promise<Uint8Array> {
  const sid = kemSuiteID(kem);
  const prk = await labeledExtract(sid, new Uint8Array(0), "eae_prk", z);
  return labeledExpand(sid, prk, "shared_secret", kemContext, Nsecret);
}

// --- key schedule and context (RFC 9180 §5) ---

function suiteID(kem: KEMID): Uint8Array {
  return concat(utf8("HPKE"), u16(kem), u16(KDF_HKDF_SHA256), u16(AEAD_AES_256_GCM));
}

/** Context is an HPKE encryption context (one direction of one setup). */
export class Context {
  #seq = 0;
  readonly #key: CryptoKey;
  readonly #baseNonce: Uint8Array;
  readonly #exporterSecret: Uint8Array;
  readonly #suiteID: Uint8Array;

  constructor(suite: Uint8Array, key: CryptoKey, baseNonce: Uint8Array, exporterSecret: Uint8Array) {
    this.#suiteID = suite;
    this.#key = key;
    this.#baseNonce = baseNonce;
    this.#exporterSecret = exporterSecret;
  }

  #nonce(): Uint8Array {
    // base_nonce XOR I2OSP(seq, Nn). cofre sends one message per context,
    // so seq never leaves the low 32 bits.
    if (this.#seq >= 0xffffffff) throw new HPKEError("message limit reached");
    const n = new Uint8Array(this.#baseNonce);
    const s = this.#seq;
    n[Nn - 4]! ^= (s >>> 24) & 0xff;
    n[Nn - 3]! ^= (s >>> 16) & 0xff;
    n[Nn - 2]! ^= (s >>> 8) & 0xff;
    n[Nn - 1]! ^= s & 0xff;
    return n;
  }

  /** seal encrypts the next message. */
  async seal(aad: Uint8Array, pt: Uint8Array): Promise<Uint8Array> {
    const ct = await subtle().encrypt({ name: "AES-GCM", iv: buf(this.#nonce()), additionalData: buf(aad), tagLength: 128 }, this.#key, buf(pt));
    this.#seq++;
    return new Uint8Array(ct);
  }

  /** open decrypts the next message; any failure is one undifferentiated HPKEError. */
  async open(aad: Uint8Array, ct: Uint8Array): Promise<Uint8Array> {
    let pt: ArrayBuffer;
    try {
      pt = await subtle().decrypt({ name: "AES-GCM", iv: buf(this.#nonce()), additionalData: buf(aad), tagLength: 128 }, this.#key, buf(ct));
    } catch {
      throw new HPKEError("open failed");
    }
    this.#seq++;
    return new Uint8Array(pt);
  }

  /** export is the secret export interface (RFC 9180 §5.3). */
  export(exporterContext: Uint8Array, L: number): Promise<Uint8Array> {
    return labeledExpand(this.#suiteID, this.#exporterSecret, "sec", exporterContext, L);
  }
}

async function keySchedule(kem: KEMID, sharedSecret: Uint8Array, info: Uint8Array): Promise<Context> {
  const sid = suiteID(kem);
  const empty = new Uint8Array(0);
  const pskIDHash = await labeledExtract(sid, empty, "psk_id_hash", empty);
  const infoHash = await labeledExtract(sid, empty, "info_hash", info);
  const ksc = concat(new Uint8Array([0x00]), pskIDHash, infoHash); // mode_base
  const secret = await labeledExtract(sid, sharedSecret, "secret", empty); // psk = ""
  const key = await labeledExpand(sid, secret, "key", ksc, Nk);
  const baseNonce = await labeledExpand(sid, secret, "base_nonce", ksc, Nn);
  const exporterSecret = await labeledExpand(sid, secret, "exp", ksc, Nh);
  const ck = await subtle().importKey("raw", buf(key), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  key.fill(0);
  return new Context(sid, ck, baseNonce, exporterSecret);
}

/**
 * setupBaseS is SetupBaseS(pkR, info) (RFC 9180 §5.1.1). ephemeral, if given, is the
 * sender's key pair (known-answer tests only); otherwise a fresh one is generated.
 */
export async function setupBaseS(kem: KEMID, pkR: Uint8Array, info: Uint8Array, ephemeral?: CryptoKeyPair): Promise<{ enc: Uint8Array; ctx: Context }> {
  const pk = await importPublicKey(kem, pkR);
  const e = ephemeral ?? (await generateKeyPair(kem));
  const z = await dh(kem, e.privateKey, pk);
  const enc = await serialize(e.publicKey);
  const shared = await extractAndExpand(kem, z, concat(enc, pkR));
  return { enc, ctx: await keySchedule(kem, shared, info) };
}

/** setupBaseR is SetupBaseR(enc, skR, info); pkRm is the recipient's serialized public key. */
export async function setupBaseR(kem: KEMID, enc: Uint8Array, skR: CryptoKey, pkRm: Uint8Array, info: Uint8Array): Promise<Context> {
  const pkE = await importPublicKey(kem, enc);
  const z = await dh(kem, skR, pkE);
  const shared = await extractAndExpand(kem, z, concat(enc, pkRm));
  return keySchedule(kem, shared, info);
}

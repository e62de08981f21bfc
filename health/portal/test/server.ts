// TEST ONLY: the service side of sealed messages (docs/sealed.md), so the
// portal's client can be round-tripped without the Go care API. The portal
// itself never opens requests.

import { concat, equal } from "../src/bytes.js";
import { type KEMID, generateKeyPair, importKeyPair, nenc, setupBaseR } from "../src/hpke.js";
import { type RecipientKey, SealedError, checkContext, exportResponseSecret, parseHeader, recipientKey, requestInfo, responseKey, sizes } from "../src/sealed.js";

export class Responder {
  constructor(
    private readonly secret: Uint8Array,
    private readonly enc: Uint8Array,
    private readonly aad: Uint8Array,
  ) {}
  get responseSecret(): Uint8Array {
    return this.secret;
  }
  async seal(response: Uint8Array, nonce?: Uint8Array): Promise<Uint8Array> {
    const n = nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(sizes.responseNonce));
    const { key, nonce: iv } = await responseKey(this.secret, this.enc, n);
    const ct = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(iv), additionalData: new Uint8Array(this.aad) }, key, new Uint8Array(response)));
    return concat(n, ct);
  }
}

export class SealedServer {
  private constructor(
    readonly key: RecipientKey,
    private readonly sk: CryptoKey,
  ) {}

  static async generate(kem: KEMID): Promise<SealedServer> {
    const kp = await generateKeyPair(kem);
    const raw = new Uint8Array(await globalThis.crypto.subtle.exportKey("raw", kp.publicKey));
    return new SealedServer(await recipientKey(kem, raw), kp.privateKey);
  }

  static async fromRaw(kem: KEMID, sk: Uint8Array, pk: Uint8Array): Promise<SealedServer> {
    const kp = await importKeyPair(kem, sk, pk);
    return new SealedServer(await recipientKey(kem, pk), kp.privateKey);
  }

  /** open opens a sealed request for context; every failure after the header check is one SealedError "open". */
  async open(body: Uint8Array, context: string): Promise<{ plaintext: Uint8Array; responder: Responder }> {
    const aad = checkContext(context);
    const kem = parseHeader(body);
    if (kem !== this.key.kem) throw new SealedError("suite", "kem is not the key's");
    const n = nenc(kem);
    if (body.length < sizes.header + n + sizes.tag) throw new SealedError("open", "the sealed request body could not be opened");
    const enc = body.subarray(sizes.header, sizes.header + n);
    try {
      const ctx = await setupBaseR(kem, enc, this.sk, this.key.raw, requestInfo(kem, this.key.keyID));
      const plaintext = await ctx.open(aad, body.subarray(sizes.header + n));
      return { plaintext, responder: new Responder(await exportResponseSecret(ctx), new Uint8Array(enc), aad) };
    } catch {
      throw new SealedError("open", "the sealed request body could not be opened");
    }
  }

  same(k: RecipientKey): boolean {
    return k.kem === this.key.kem && equal(k.raw, this.key.raw);
  }
}

// cofre sealed-message vectors (sealed/testdata/vectors.json, made by an
// implementation independent of Go's) and negative tests of the framing.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { b64url, fromHex, hex, utf8 } from "../src/bytes.js";
import { type KEMID, importKeyPair, nenc } from "../src/hpke.js";
import { SealedError, parseHeader, parsePublicJWK, recipientKey, requestInfo, sealRequest, thumbprintInput } from "../src/sealed.js";
import { readRepo } from "./helpers.js";
import { SealedServer } from "./server.js";

interface Case {
  kem_id: number;
  skR: string;
  pkR: string;
  thumbprint_input: string;
  key_id: string;
  skE: string;
  info: string;
  context: string;
  plaintext: string;
  request: string;
  response_secret: string;
  response_nonce: string;
  response: string;
  sealed_response: string;
}

const vectors = JSON.parse(readRepo("sealed/testdata/vectors.json")) as { outcome: string; cases: Case[] };

describe("sealed vectors", () => {
  assert.equal(vectors.outcome, "accept");
  assert.equal(vectors.cases.length, 2);
  for (const c of vectors.cases) {
    const kem = c.kem_id as KEMID;
    const name = kem === 0x10 ? "P-256" : "X25519";
    it(`${name}: key id, thumbprint input and info`, async () => {
      const k = await recipientKey(kem, fromHex(c.pkR));
      assert.equal(thumbprintInput(kem, k.raw), c.thumbprint_input);
      assert.equal(k.kid, c.key_id);
      assert.equal(hex(requestInfo(kem, k.keyID)), c.info);
      assert.equal(requestInfo(kem, k.keyID).length, 62);
    });
    it(`${name}: the client seals the exact request bytes and opens the sealed response`, async () => {
      const key = await recipientKey(kem, fromHex(c.pkR));
      const req = fromHex(c.request);
      const enc = req.subarray(6, 6 + nenc(kem));
      const eph = await importKeyPair(kem, fromHex(c.skE), enc);
      const { body, opener } = await sealRequest(key, c.context, utf8(c.plaintext), eph);
      assert.equal(hex(body), c.request);
      assert.equal(new TextDecoder().decode(await opener.open(fromHex(c.sealed_response))), c.response);
    });
    it(`${name}: the test server opens the vector request and reproduces the sealed response`, async () => {
      const srv = await SealedServer.fromRaw(kem, fromHex(c.skR), fromHex(c.pkR));
      const { plaintext, responder } = await srv.open(fromHex(c.request), c.context);
      assert.equal(new TextDecoder().decode(plaintext), c.plaintext);
      assert.equal(hex(responder.responseSecret), c.response_secret);
      assert.equal(hex(await responder.seal(utf8(c.response), fromHex(c.response_nonce))), c.sealed_response);
    });
    it(`${name}: a tampered response, a response to another request or context is refused`, async () => {
      const key = await recipientKey(kem, fromHex(c.pkR));
      const req = fromHex(c.request);
      const eph = await importKeyPair(kem, fromHex(c.skE), req.subarray(6, 6 + nenc(kem)));
      const { opener } = await sealRequest(key, c.context, utf8(c.plaintext), eph);
      const sr = fromHex(c.sealed_response);
      for (const at of [0, 31, 32, sr.length - 1]) {
        const t = new Uint8Array(sr);
        t[at]! ^= 1;
        await assert.rejects(opener.open(t), (e: unknown) => e instanceof SealedError && e.kind === "open", `byte ${at}`);
      }
      await assert.rejects(opener.open(sr.subarray(0, 47)), (e: unknown) => e instanceof SealedError && e.kind === "open");
      const other = await sealRequest(key, "POST /other", utf8(c.plaintext), eph);
      await assert.rejects(other.opener.open(sr), (e: unknown) => e instanceof SealedError && e.kind === "open");
      const fresh = await sealRequest(key, c.context, utf8(c.plaintext));
      await assert.rejects(fresh.opener.open(sr), (e: unknown) => e instanceof SealedError && e.kind === "open");
    });
    it(`${name}: the server refuses a tampered request, another context and another key`, async () => {
      const srv = await SealedServer.fromRaw(kem, fromHex(c.skR), fromHex(c.pkR));
      const req = fromHex(c.request);
      for (const at of [6, 6 + nenc(kem) - 1, 6 + nenc(kem), req.length - 1]) {
        const t = new Uint8Array(req);
        t[at]! ^= 1;
        await assert.rejects(srv.open(t, c.context), (e: unknown) => e instanceof SealedError && e.kind === "open", `byte ${at}`);
      }
      await assert.rejects(srv.open(req, "POST /v2/models/other/infer"), (e: unknown) => e instanceof SealedError && e.kind === "open");
      const other = await SealedServer.generate(kem);
      await assert.rejects(other.open(req, c.context), (e: unknown) => e instanceof SealedError && e.kind === "open");
    });
  }
  it("refuses unknown suites in the header", () => {
    for (const h of ["001100010002", "001000020002", "001000010001", "0000"]) {
      assert.throws(() => parseHeader(fromHex(h + "00".repeat(80))), (e: unknown) => e instanceof SealedError && (e.kind === "suite" || e.kind === "malformed"), h);
    }
    assert.throws(() => parseHeader(fromHex("0010")), (e: unknown) => e instanceof SealedError && e.kind === "malformed");
  });
  it("refuses an empty or oversized context", async () => {
    const k = await recipientKey(0x10, fromHex(vectors.cases[1]!.pkR));
    for (const ctx of ["", "P".repeat(4097)]) {
      await assert.rejects(sealRequest(k, ctx, utf8("x")), (e: unknown) => e instanceof SealedError && e.kind === "malformed");
    }
  });
});

describe("parsePublicJWK", () => {
  const p256 = vectors.cases.find((c) => c.kem_id === 0x10)!;
  const x25519 = vectors.cases.find((c) => c.kem_id === 0x20)!;
  const pk = fromHex(p256.pkR);
  const good = { kty: "EC", crv: "P-256", x: b64url(pk.subarray(1, 33)), y: b64url(pk.subarray(33)), use: "enc", kid: p256.key_id };
  const okp = { kty: "OKP", crv: "X25519", x: b64url(fromHex(x25519.pkR)), use: "enc", kid: x25519.key_id };
  it("accepts the coordinator's EC and OKP JWKs (kid is the thumbprint)", async () => {
    assert.equal((await parsePublicJWK(good)).kid, p256.key_id);
    assert.equal((await parsePublicJWK(okp)).kid, x25519.key_id);
    const { use: _u, kid: _k, ...bare } = good;
    assert.equal((await parsePublicJWK(bare)).kem, 0x10);
  });
  const bad: [string, unknown, string][] = [
    ["private member d", { ...good, d: good.x }, "malformed"],
    ["unknown member", { ...good, ext: true }, "malformed"],
    ["use sig", { ...good, use: "sig" }, "malformed"],
    ["kid not the thumbprint", { ...good, kid: x25519.key_id }, "malformed"],
    ["P-384", { ...good, crv: "P-384" }, "suite"],
    ["RSA", { kty: "RSA", n: "AQAB", e: "AQAB" }, "malformed"],
    ["short x", { ...good, x: good.x.slice(0, 40) }, "malformed"],
    ["y on X25519", { ...okp, y: good.y }, "malformed"],
    ["off-curve point", { ...good, y: good.x, kid: undefined }, "malformed"],
    ["not an object", "jwk", "malformed"],
    ["array", [good], "malformed"],
  ];
  for (const [name, jwk, kind] of bad) {
    it(`refuses ${name}`, async () => {
      const j = typeof jwk === "object" && jwk !== null && !Array.isArray(jwk) ? JSON.parse(JSON.stringify(jwk)) : jwk;
      await assert.rejects(parsePublicJWK(j), (e: unknown) => e instanceof SealedError && e.kind === kind);
    });
  }
});

// RFC 9180 known-answer tests (sealed/testdata/rfc9180: the CFRG vectors for
// our two suites) for the HPKE layer alone, on Node's WebCrypto.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromHex, hex, utf8 } from "../src/bytes.js";
import { HPKEError, type KEMID, hkdfExpand, hkdfExtract, importKeyPair, setupBaseR, setupBaseS } from "../src/hpke.js";
import { readRepo } from "./helpers.js";

interface Vector {
  kem_id: number;
  info: string;
  skRm: string;
  pkRm: string;
  enc: string;
  exporter_secret: string;
  encryptions: { aad: string; ct: string; pt: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

const files = ["p256-hkdf-sha256-aes-256-gcm.json", "x25519-hkdf-sha256-aes-256-gcm.json"];

describe("RFC 9180 vectors", () => {
  for (const f of files) {
    const v = JSON.parse(readRepo("sealed/testdata/rfc9180/" + f)) as Vector;
    const kem = v.kem_id as KEMID;
    it(`${f}: opens every encryption in sequence and matches every export`, async () => {
      const kp = await importKeyPair(kem, fromHex(v.skRm), fromHex(v.pkRm));
      const ctx = await setupBaseR(kem, fromHex(v.enc), kp.privateKey, fromHex(v.pkRm), fromHex(v.info));
      for (const e of v.encryptions) {
        assert.equal(hex(await ctx.open(fromHex(e.aad), fromHex(e.ct))), e.pt);
      }
      for (const x of v.exports) {
        assert.equal(hex(await ctx.export(fromHex(x.exporter_context), x.L)), x.exported_value);
      }
    });
    it(`${f}: a flipped ciphertext bit, a wrong aad and a wrong info are refused`, async () => {
      const kp = await importKeyPair(kem, fromHex(v.skRm), fromHex(v.pkRm));
      const e = v.encryptions[0]!;
      const cases: [string, Uint8Array, Uint8Array, Uint8Array][] = [
        ["ct bit", fromHex(v.info), fromHex(e.aad), (() => { const c = fromHex(e.ct); c[3]! ^= 1; return c; })()],
        ["tag bit", fromHex(v.info), fromHex(e.aad), (() => { const c = fromHex(e.ct); c[c.length - 1]! ^= 0x80; return c; })()],
        ["aad", fromHex(v.info), utf8("Count-9"), fromHex(e.ct)],
        ["info", utf8("another info"), fromHex(e.aad), fromHex(e.ct)],
      ];
      for (const [name, info, aad, ct] of cases) {
        const ctx = await setupBaseR(kem, fromHex(v.enc), kp.privateKey, fromHex(v.pkRm), info);
        await assert.rejects(ctx.open(aad, ct), HPKEError, name);
      }
    });
    it(`${f}: seal then open round trip with a fresh ephemeral key`, async () => {
      const kp = await importKeyPair(kem, fromHex(v.skRm), fromHex(v.pkRm));
      const { enc, ctx } = await setupBaseS(kem, fromHex(v.pkRm), utf8("info"));
      const ct = await ctx.seal(utf8("aad"), utf8("hello"));
      const r = await setupBaseR(kem, enc, kp.privateKey, fromHex(v.pkRm), utf8("info"));
      assert.equal(new TextDecoder().decode(await r.open(utf8("aad"), ct)), "hello");
      assert.equal(hex(await r.export(utf8("x"), 32)), hex(await ctx.export(utf8("x"), 32)));
    });
  }
  it("refuses malformed public keys (length, prefix, off-curve)", async () => {
    const v = JSON.parse(readRepo("sealed/testdata/rfc9180/" + files[0])) as Vector;
    const pk = fromHex(v.pkRm);
    const offCurve = new Uint8Array(pk);
    offCurve[64]! ^= 1;
    const compressed = new Uint8Array(pk);
    compressed[0] = 0x02;
    for (const [name, k] of [["short", pk.subarray(0, 64)], ["prefix", compressed], ["off-curve", offCurve]] as const) {
      await assert.rejects(setupBaseS(0x10, k, utf8("i")), HPKEError, name);
    }
  });
  it("refuses an all-zero X25519 shared secret (small-order point)", async () => {
    await assert.rejects(setupBaseS(0x20, new Uint8Array(32), utf8("i")), HPKEError);
  });
});

describe("HKDF-SHA256 (RFC 5869 test case 1)", () => {
  it("matches", async () => {
    const prk = await hkdfExtract(fromHex("000102030405060708090a0b0c"), fromHex("0b".repeat(22)));
    assert.equal(hex(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    const okm = await hkdfExpand(prk, fromHex("f0f1f2f3f4f5f6f7f8f9"), 42);
    assert.equal(hex(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  });
});

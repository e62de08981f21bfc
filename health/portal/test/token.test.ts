// Token verification: tokens signed in the test with a WebCrypto ES256 key
// (cofre-shaped EAR claims), every check's refusal asserted by check name,
// and real cofre tokens (token/testdata, signed by cofre's Go issuer).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { b64url, fromB64url, utf8 } from "../src/bytes.js";
import { type Config } from "../src/config.js";
import { SealedServer } from "./server.js";
import { TokenError, parseJWKS, verifyToken } from "../src/token.js";
import { thumbprint } from "../src/thumbprint.js";
import { MEASUREMENT, T0, claims, config, jwkOf, newSigner, readRepo } from "./helpers.js";

const at = (s: number) => new Date(s * 1000);
const NOW = at(T0 + 60);

/** refusedChecks returns the failed checks' names, or fails the test if the token verified. */
async function refusedChecks(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TokenError, `want TokenError, got ${String(e)}`);
    assert.ok(e.refusals.length > 0);
    return e.refusals.map((r) => r.check);
  }
  assert.fail("token verified, want a refusal");
}

describe("verifyToken", async () => {
  const signer = await newSigner();
  const srv = await SealedServer.generate(0x10);
  const hdr = { alg: "ES256", kid: signer.kid, typ: "JWT" };
  const good = await signer.sign(hdr, claims(jwkOf(srv.key)));

  it("accepts a good token and returns its HPKE key and what the panel shows", async () => {
    const v = await verifyToken(good, signer.jwks, config(), NOW);
    assert.ok(srv.same(v.key));
    assert.equal(v.issuer, "https://attestd.example");
    assert.equal(v.tee, "sevsnp");
    assert.equal(v.measurement, MEASUREMENT);
    assert.equal(v.status, "affirming");
    assert.equal(v.simulation, false);
    assert.equal(v.expiry.getTime(), (T0 + 300) * 1000);
    assert.equal(v.keyID, signer.kid);
  });
  it("accepts within the 30 s leeway at both ends", async () => {
    await verifyToken(good, signer.jwks, config(), at(T0 + 300 + 30));
    await verifyToken(good, signer.jwks, config(), at(T0 - 30));
  });
  it("accepts an X25519 cnf key", async () => {
    const x = await SealedServer.generate(0x20);
    const v = await verifyToken(await signer.sign(hdr, claims(jwkOf(x.key))), signer.jwks, config(), NOW);
    assert.equal(v.key.kem, 0x20);
  });
  it("accepts a kid pinned to its key, and a JWKS with other keys, RSA and symmetric ones", async () => {
    const v = await verifyToken(good, signer.jwks, config({ pinnedKeyIDs: ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", signer.kid] }), NOW);
    assert.equal(v.keyID, signer.kid);
    const rest = { keys: [{ kty: "RSA", kid: "r", n: "AQAB", e: "AQAB" }, { kty: "oct", kid: "o", k: "AAAA" }, (await newSigner()).jwks.keys[0], signer.jwks.keys[0]] };
    await verifyToken(good, rest, config({ pinnedKeyIDs: [signer.kid] }), NOW);
  });
  it("accepts the care API's service name when config.json requires it, and shows it", async () => {
    const t = await signer.sign(hdr, { ...claims(jwkOf(srv.key)), "cofre.runtime": { service: "careapi", model: "chest-xray" } });
    const v = await verifyToken(t, signer.jwks, config({ service: "careapi" }), NOW);
    assert.equal(v.service, "careapi");
    assert.equal((await verifyToken(good, signer.jwks, config(), NOW)).service, "", "not required: not checked");
  });
  it("accepts a simulated token when simulation is allowed, and says so", async () => {
    const t = await signer.sign(hdr, claims(jwkOf(srv.key), { sim: true }));
    const v = await verifyToken(t, signer.jwks, config({ allowSimulation: true }), NOW);
    assert.equal(v.simulation, true);
    assert.equal(v.tee, "sim");
    assert.equal(v.status, "warning");
  });

  // other publishes its own key under signer's kid (a JWKS host or proxy
  // swapping keys); labelled names its key by a label, not its thumbprint.
  const other = await newSigner(signer.kid);
  const labelled = await newSigner("test-es256");
  /** retag gives a JWK the kid its members hash to (so only the other checks can refuse it). */
  const retag = async (k: Record<string, unknown>) => ({ ...k, kid: (await thumbprint({ kty: "EC", crv: String(k.crv), x: String(k.x), y: String(k.y) })).kid });
  const payload = claims(jwkOf(srv.key));
  const sig = good.split(".")[2]!;
  const flipped = (() => {
    const s = fromB64url(sig);
    s[10]! ^= 1;
    return b64url(s);
  })();
  const h64 = (h: object) => b64url(utf8(JSON.stringify(h)));
  const p64 = b64url(utf8(JSON.stringify(payload)));

  const cases: { name: string; tok: () => Promise<string>; cfg?: Partial<Config>; now?: Date; jwks?: unknown; want: string[] }[] = [
    { name: "bad signature (flipped bit)", tok: async () => good.split(".").slice(0, 2).join(".") + "." + flipped, want: ["signature"] },
    { name: "signed by another key with the same kid", tok: () => other.sign(hdr, payload), want: ["signature"] },
    { name: "payload changed after signing", tok: async () => `${good.split(".")[0]}.${b64url(utf8(JSON.stringify({ ...payload, iss: "https://evil.example" })))}.${sig}`, want: ["signature"] },
    { name: "DER-length signature", tok: async () => `${good.split(".")[0]}.${good.split(".")[1]}.${b64url(new Uint8Array(70))}`, want: ["signature"] },
    { name: "expired", tok: async () => good, now: at(T0 + 300 + 31), want: ["exp"] },
    { name: "issued in the future", tok: async () => good, now: at(T0 - 31), want: ["iat"] },
    { name: "nbf in the future", tok: () => signer.sign(hdr, { ...payload, nbf: T0 + 120 }), want: ["nbf"] },
    { name: "wrong measurement", tok: () => signer.sign(hdr, claims(jwkOf(srv.key), { measurement: "cd".repeat(48) })), want: ["submods.cpu0.measurement"] },
    { name: "simulation refused when not allowed", tok: () => signer.sign(hdr, claims(jwkOf(srv.key), { sim: true })), want: ["submods.cpu0.ear.status", "cofre.simulation"] },
    {
      name: "simulation hidden in the submodule while cofre.simulation says false",
      tok: () => {
        const c = claims(jwkOf(srv.key), { sim: true });
        c["cofre.simulation"] = false;
        return signer.sign(hdr, c);
      },
      cfg: { allowSimulation: true },
      want: ["cofre.simulation"],
    },
    {
      name: "warning status without simulation allowed",
      tok: () => {
        const c = claims(jwkOf(srv.key));
        (c.submods as any).cpu0["ear.status"] = "warning";
        return signer.sign(hdr, c);
      },
      want: ["submods.cpu0.ear.status"],
    },
    {
      name: "contraindicated gpu0 submodule even with simulation allowed",
      tok: () => {
        const c = claims(jwkOf(srv.key));
        (c.submods as any).gpu0 = { "ear.status": "contraindicated", "cofre.claims": { format: "nvgpu", tee: "nvgpu", measurement: "00" } };
        return signer.sign(hdr, c);
      },
      cfg: { allowSimulation: true },
      want: ["submods.gpu0.ear.status"],
    },
    { name: "alg none", tok: async () => `${h64({ alg: "none", kid: signer.kid })}.${p64}.`, want: ["header.alg"] },
    { name: "alg none even when configured", tok: async () => `${h64({ alg: "none", kid: signer.kid })}.${p64}.`, cfg: { algorithms: ["none" as any] }, want: ["header.alg"] },
    { name: "alg HS256", tok: async () => `${h64({ alg: "HS256", kid: signer.kid })}.${p64}.${sig}`, cfg: { algorithms: ["HS256" as any, "ES256"] }, want: ["header.alg"] },
    { name: "alg EdDSA not in the allowlist", tok: async () => `${h64({ alg: "EdDSA", kid: signer.kid })}.${p64}.${sig}`, want: ["header.alg"] },
    { name: "alg EdDSA allowed but the key is ES256", tok: async () => `${h64({ alg: "EdDSA", kid: signer.kid })}.${p64}.${sig}`, cfg: { algorithms: ["ES256", "EdDSA"] }, want: ["header.alg"] },
    { name: "missing cnf", tok: () => signer.sign(hdr, claims(undefined)), want: ["cnf.jwk"] },
    { name: "cnf with a private key", tok: () => signer.sign(hdr, claims({ ...jwkOf(srv.key), d: "AAAA" })), want: ["cnf.jwk"] },
    { name: "cnf x5t#S256 instead of a jwk", tok: () => signer.sign(hdr, { ...payload, cnf: { "x5t#S256": "abc" } }), want: ["cnf.jwk"] },
    { name: "wrong issuer", tok: () => signer.sign(hdr, { ...payload, iss: "https://other.example" }), want: ["iss"] },
    { name: "an audience", tok: () => signer.sign(hdr, { ...payload, aud: "someone" }), want: ["aud"] },
    { name: "a draft-policy token", tok: () => signer.sign(hdr, { ...payload, "cofre.draft": true }), want: ["cofre.draft"] },
    { name: "another eat_profile", tok: () => signer.sign(hdr, { ...payload, eat_profile: "x" }), want: ["eat_profile"] },
    { name: "no cpu0", tok: () => signer.sign(hdr, { ...payload, submods: { gpu0: (payload.submods as any).cpu0 } }), want: ["submods"] },
    { name: "fractional exp", tok: () => signer.sign(hdr, { ...payload, exp: T0 + 300.5 }), want: ["exp"] },
    { name: "unknown kid", tok: () => signer.sign({ ...hdr, kid: "nope" }, payload), want: ["header.kid"] },
    { name: "no kid", tok: () => signer.sign({ alg: "ES256" }, payload), want: ["header.kid"] },
    { name: "kid not pinned", tok: async () => good, cfg: { pinnedKeyIDs: ["another"] }, want: ["header.kid"] },
    { name: "crit header", tok: () => signer.sign({ ...hdr, crit: ["exp"] }, payload), want: ["header.crit"] },
    { name: "typ not JWT", tok: () => signer.sign({ ...hdr, typ: "at+jwt" }, payload), want: ["header.typ"] },
    { name: "two segments", tok: async () => good.split(".").slice(0, 2).join("."), want: ["jws"] },
    { name: "non-canonical base64url", tok: async () => good.split(".")[0] + "." + good.split(".")[1] + "." + sig.slice(0, -1) + "B", want: ["signature"] },
    { name: "JWKS with a private key", tok: async () => good, jwks: { keys: [{ ...signer.jwks.keys[0], d: "AAAA" }] }, want: ["jwks"] },
    { name: "JWKS with one key twice", tok: async () => good, jwks: { keys: [signer.jwks.keys[0], signer.jwks.keys[0]] }, want: ["jwks"] },
    { name: "JWKS with another key under the same kid", tok: async () => good, jwks: { keys: [signer.jwks.keys[0], other.jwks.keys[0]] }, want: ["jwks"] },
    { name: "JWKS whose kid is a label, not the thumbprint", tok: () => labelled.sign({ ...hdr, kid: "test-es256" }, payload), jwks: labelled.jwks, want: ["jwks"] },
    { name: "JWKS with an unusable EC key under a wrong kid", tok: async () => good, jwks: { keys: [signer.jwks.keys[0], { ...other.jwks.keys[0], use: "enc", kid: "enc-key" }] }, want: ["jwks"] },
    { name: "JWKS with an Ed25519 key under a wrong kid", tok: async () => good, jwks: { keys: [signer.jwks.keys[0], { kty: "OKP", crv: "Ed25519", x: "cHXZRyOmvzdGuM-ajvL16UOo9jC8L1xNOQFRMBqFh9o", kid: "ed" }] }, want: ["jwks"] },
    { name: "JWKS EC key without y", tok: async () => good, jwks: { keys: [{ ...signer.jwks.keys[0], y: undefined }] }, want: ["jwks"] },
    { name: "JWKS key with a non-canonical coordinate (thumbprint over it)", tok: async () => good, jwks: { keys: [await retag({ ...signer.jwks.keys[0], x: String(signer.jwks.keys[0]!.x) + "A" })] }, want: ["jwks"] },
    {
      name: "a foreign key published under the pinned kid",
      tok: () => other.sign(hdr, payload),
      jwks: other.jwks,
      cfg: { pinnedKeyIDs: [signer.kid] },
      want: ["jwks"],
    },
    { name: "service required, no cofre.runtime claim", tok: async () => good, cfg: { service: "careapi" }, want: ["cofre.runtime.service"] },
    { name: "service required, cofre.runtime without service", tok: () => signer.sign(hdr, { ...payload, "cofre.runtime": { model: "chest-xray" } }), cfg: { service: "careapi" }, want: ["cofre.runtime.service"] },
    { name: "service required, another service (same measurement)", tok: () => signer.sign(hdr, { ...payload, "cofre.runtime": { service: "diagnostics" } }), cfg: { service: "careapi" }, want: ["cofre.runtime.service"] },
    { name: "service required, service of another case", tok: () => signer.sign(hdr, { ...payload, "cofre.runtime": { service: "CareAPI" } }), cfg: { service: "careapi" }, want: ["cofre.runtime.service"] },
    { name: "service required, cofre.runtime not an object", tok: () => signer.sign(hdr, { ...payload, "cofre.runtime": "careapi" }), cfg: { service: "careapi" }, want: ["cofre.runtime"] },
    { name: "service required, cofre.runtime with a non-string member", tok: () => signer.sign(hdr, { ...payload, "cofre.runtime": { service: "careapi", n: 1 } }), cfg: { service: "careapi" }, want: ["cofre.runtime"] },
    { name: "service required, service not a string", tok: () => signer.sign(hdr, { ...payload, "cofre.runtime": { service: ["careapi"] } }), cfg: { service: "careapi" }, want: ["cofre.runtime"] },
    { name: "JWKS key for encryption only", tok: async () => good, jwks: { keys: [{ ...signer.jwks.keys[0], use: "enc" }] }, want: ["header.kid"] },
    { name: "not a JWKS", tok: async () => good, jwks: [1, 2], want: ["jwks"] },
  ];
  for (const c of cases) {
    it(`refuses: ${c.name}`, async () => {
      const got = await refusedChecks(verifyToken(await c.tok(), c.jwks ?? signer.jwks, config(c.cfg), c.now ?? NOW));
      assert.deepEqual(got, c.want);
    });
  }
  it("reports every failed claim check at once, with expected and actual", async () => {
    const t = await signer.sign(hdr, claims(undefined, { sim: true, measurement: "cd".repeat(48) }));
    try {
      await verifyToken(t, signer.jwks, config(), at(T0 + 1000));
      assert.fail("verified");
    } catch (e) {
      assert.ok(e instanceof TokenError);
      assert.deepEqual(e.refusals.map((r) => r.check), ["exp", "submods.cpu0.ear.status", "submods.cpu0.measurement", "cofre.simulation", "cnf.jwk"]);
      const m = e.refusals.find((r) => r.check === "submods.cpu0.measurement")!;
      assert.equal(m.actual, "cd".repeat(48));
      assert.match(m.expected, new RegExp(MEASUREMENT));
    }
  });
});

// Real tokens issued by cofre's Go code (token/testdata, see its README):
// EdDSA-signed, issued 2026-05-01T12:00:00Z for five minutes, without cnf.
// They check that this verifier reads the Go issuer's bytes (signature,
// claim names, submodules); the only refusal left is the missing cnf.jwk.
describe("real cofre tokens (token/testdata)", () => {
  const goString = (file: string) => {
    const m = /^(?:string|\[\]byte)\((".*")\)\s*$/m.exec(readRepo(file));
    assert.ok(m, file);
    return JSON.parse(m[1]!) as string;
  };
  const jwks = JSON.parse(goString("token/testdata/fuzz/FuzzStaticJWKS/genuine"));
  const cfg = (over: Partial<Config> = {}) => config({ algorithms: ["EdDSA"], ...over });
  it("the real JWKS's kids are their keys' thumbprints: it parses, and its kids pin", async () => {
    const keys = await parseJWKS(jwks);
    assert.deepEqual([...keys.keys()].sort(), ["PeGERuTodWVLPHjux18DgXN6tR_dEdmLxlGVRZ7uB1A", "b3gG1rvjcIC_V-oS0i25EI8yYXdGDHonWxg1q179VL8"]);
    const tok = goString("token/testdata/fuzz/FuzzVerify/genuine_snp");
    const kid = JSON.parse(new TextDecoder().decode(fromB64url(tok.split(".")[0]!))).kid as string;
    assert.deepEqual(await refusedChecks(verifyToken(tok, jwks, cfg({ pinnedKeyIDs: [kid] }), NOW)), ["cnf.jwk"]);
    // The same JWKS with the EdDSA key's kid moved to the other key is refused whole.
    const [ed, ec] = (jwks as { keys: Record<string, unknown>[] }).keys;
    const swapped = { keys: [{ ...ed, kid: ec!.kid }, { ...ec, kid: ed!.kid }] };
    assert.deepEqual(await refusedChecks(verifyToken(tok, swapped, cfg({ pinnedKeyIDs: [kid] }), NOW)), ["jwks"]);
  });
  it("genuine_snp: signature and every claim pass, cnf is what is missing", async () => {
    const tok = goString("token/testdata/fuzz/FuzzVerify/genuine_snp");
    assert.deepEqual(await refusedChecks(verifyToken(tok, jwks, cfg(), NOW)), ["cnf.jwk"]);
    assert.deepEqual(await refusedChecks(verifyToken(tok, jwks, cfg({ algorithms: ["ES256"] }), NOW)), ["header.alg"]);
  });
  it("genuine_sim: simulation refused unless allowed", async () => {
    const tok = goString("token/testdata/fuzz/FuzzVerify/genuine_sim");
    assert.deepEqual(await refusedChecks(verifyToken(tok, jwks, cfg(), NOW)), ["submods.cpu0.ear.status", "cofre.simulation", "cnf.jwk"]);
    assert.deepEqual(await refusedChecks(verifyToken(tok, jwks, cfg({ allowSimulation: true }), NOW)), ["cnf.jwk"]);
  });
  it("signature_flip and alg_hs256 are refused", async () => {
    assert.deepEqual(await refusedChecks(verifyToken(goString("token/testdata/fuzz/FuzzVerify/signature_flip"), jwks, cfg(), NOW)), ["signature"]);
    assert.deepEqual(await refusedChecks(verifyToken(goString("token/testdata/fuzz/FuzzVerify/alg_hs256"), jwks, cfg(), NOW)), ["header.alg"]);
    assert.deepEqual(await refusedChecks(verifyToken(goString("token/testdata/fuzz/FuzzVerify/alg_none"), jwks, cfg(), NOW)), ["header.alg"]);
  });
});

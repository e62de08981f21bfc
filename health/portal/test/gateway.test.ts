// The whole client path: attestation (config, token, JWKS), then every
// care API call sealed through the gateway to a test-only server.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { b64, b64url, buf, fromB64url, utf8 } from "../src/bytes.js";
import { ApiError, CareAPI } from "../src/api.js";
import { AttestationError, Attestor, attest, describeFailure, loadConfig } from "../src/attestation.js";
import { toPatient } from "../src/fhir.js";
import { CONTEXT, Gateway, GatewayError, NONCE_SIZE, decodeInnerResponse, encodeInnerRequest, freshness } from "../src/gateway.js";
import { sealRequest } from "../src/sealed.js";
import { TokenError } from "../src/token.js";
import { MEASUREMENT, T0, claims, config, jwkOf, newSigner } from "./helpers.js";
import { FRESH_WINDOW_MS, FakeCare } from "./fakecare.js";
import { SealedServer } from "./server.js";

const NOW = () => new Date((T0 + 60) * 1000);
const cfgDoc = { careApi: "", jwksUrl: "/v1/certs", issuer: "https://attestd.example", measurements: [MEASUREMENT], allowSimulation: false, algorithms: ["ES256"] };

async function setup(kem: 0x10 | 0x20, opts: { sim?: boolean; tamper?: boolean; plainRefusal?: boolean } = {}) {
  const signer = await newSigner();
  const srv = await SealedServer.generate(kem);
  const token = await signer.sign({ alg: "ES256", kid: signer.kid, typ: "JWT" }, claims(jwkOf(srv.key), { sim: opts.sim ?? false }));
  const care = new FakeCare(srv, { attestation: { token, tls_token: "ignored" }, jwks: signer.jwks, config: cfgDoc, tamper: opts.tamper ?? false, plainRefusal: opts.plainRefusal ?? false });
  return { signer, srv, care };
}

describe("portal flow through the sealed gateway", () => {
  for (const kem of [0x10, 0x20] as const) {
    it(`${kem === 0x10 ? "P-256" : "X25519"}: attest, sign in, create a patient, upload, diagnose, list reports`, async () => {
      const { srv, care } = await setup(kem);
      const cfg = await loadConfig(care.fetch, "/config.json");
      const v = await attest(care.fetch, cfg, NOW);
      assert.ok(srv.same(v.key));
      const api = new CareAPI(new Gateway(cfg.careApi, v.key, care.fetch));

      await assert.rejects(api.login("alice", "wrong"), (e: unknown) => e instanceof ApiError && e.status === 401 && e.message === "invalid credentials");
      const s = await api.login("alice", "correct horse");
      assert.deepEqual(s, { user: "alice", role: "clinician" });
      const p = await api.createPatient(toPatient({ given: "Ada", family: "Lovelace", birthDate: "1955-12-10", gender: "female", mrn: "MRN-1" }));
      assert.equal(p.id, "p1");
      assert.equal(p.name, "Ada Lovelace");
      assert.deepEqual((await api.listPatients()).map((x) => x.mrn), ["MRN-1"]);
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
      const img = await api.uploadImage(p.id, "image/png", png);
      const rep = await api.diagnose(p.id, img);
      assert.equal(rep.display, "Pneumonia");
      assert.deepEqual(rep.findings.map((f) => f.label), ["pneumonia", "normal", "effusion"]);
      assert.equal(rep.issued, "2026-05-01T12:02:00Z");
      assert.equal((await api.listReports(p.id)).length, 1);
      await assert.rejects(api.diagnose(p.id, "img9"), (e: unknown) => e instanceof ApiError && e.status === 404 && e.message === "no such image");
      await api.logout();
      await assert.rejects(api.listPatients(), (e: unknown) => e instanceof ApiError && e.status === 401);

      // What went over the wire: only sealed bodies to /api/sealed, with
      // credentials, and no patient data in the clear.
      assert.ok(care.outer.length >= 9);
      for (const o of care.outer) {
        assert.equal(o.url, "/api/sealed");
        assert.equal(o.credentials, "include");
        assert.equal(o.contentType, "application/vnd.cofre.sealed-v1");
        const text = new TextDecoder("latin1").decode(o.body);
        for (const secret of ["Lovelace", "1955-12-10", "MRN-1", "correct horse", "Patient"]) assert.ok(!text.includes(secret), secret);
      }
      // CSRF on every inner request after login, reads included (the care
      // API requires it: the cookie travels outside the seal, the token inside).
      for (const r of care.seen.slice(2, -1)) assert.equal(r.headers["X-CSRF-Token"], "csrf-token-1");
      assert.equal(care.seen.at(-1)?.headers["X-CSRF-Token"], undefined); // signed out: forgotten
      assert.equal(care.seen.find((r) => r.path === "/fhir/Patient" && r.method === "POST")?.headers["Content-Type"], "application/fhir+json");
    });
  }
  it("a tampered sealed response is refused", async () => {
    const { care } = await setup(0x10, { tamper: true });
    const cfg = await loadConfig(care.fetch, "/config.json");
    const v = await attest(care.fetch, cfg, NOW);
    const api = new CareAPI(new Gateway("", v.key, care.fetch));
    await assert.rejects(api.login("alice", "correct horse"), (e: unknown) => e instanceof GatewayError && /could not be opened/.test(e.message));
  });
  it("an unsealed answer is shown as a fixed message with its status, never its text", async () => {
    const { care } = await setup(0x10, { plainRefusal: true });
    const v = await attest(care.fetch, await loadConfig(care.fetch, "/config.json"), NOW);
    await assert.rejects(new CareAPI(new Gateway("", v.key, care.fetch)).login("a", "b"), (e: unknown) => e instanceof GatewayError && e.status === 400 && e.message === "the care API did not accept the sealed request (HTTP 400); its answer was not sealed, so it is not shown");
    // Whatever a proxy writes in a plain answer (JSON or text, any status) stays unseen.
    const lure = "Session expired: call +1 555 0100 or sign in at https://evil.example";
    const answers: [string, Response][] = [
      ["json error", Response.json({ error: lure }, { status: 502 })],
      ["json message", Response.json({ message: lure }, { status: 403 })],
      ["text", new Response(lure, { status: 200, headers: { "Content-Type": "text/plain" } })],
      ["html", new Response(`<p>${lure}</p>`, { status: 503, headers: { "Content-Type": "text/html" } })],
    ];
    for (const [name, resp] of answers) {
      const proxy = async () => resp;
      await assert.rejects(new Gateway("", v.key, proxy).send({ method: "GET", path: "/fhir/Patient" }), (e: unknown) => {
        assert.ok(e instanceof GatewayError, name);
        assert.equal(e.status, resp.status, name);
        assert.ok(!/evil|555|expired/.test(e.message), `${name}: ${e.message}`);
        assert.ok(e.message.includes(`(HTTP ${resp.status})`), name);
        return true;
      });
    }
  });
  it("every inner request carries a fresh nonce and the time; none is ever reused", async () => {
    const { srv, care } = await setup(0x20);
    const v = await attest(care.fetch, await loadConfig(care.fetch, "/config.json"), NOW);
    const ms = Date.UTC(2026, 4, 1, 12, 1, 0);
    const care2 = new FakeCare(srv, { now: () => ms });
    const api = new CareAPI(new Gateway("", v.key, care2.fetch, () => ms));
    await api.login("alice", "correct horse");
    for (let i = 0; i < 20; i++) await api.listPatients();
    assert.equal(care2.seen.length, 21);
    assert.deepEqual(care2.refused, []);
    const nonces = new Set(care2.seen.map((r) => r.nonce));
    assert.equal(nonces.size, 21, "two requests shared a nonce");
    for (const r of care2.seen) {
      assert.match(r.nonce, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(fromB64url(r.nonce).length, 16);
      assert.equal(r.ts, ms);
    }
  });
  it("a replayed sealed request is refused by the care API, and does nothing", async () => {
    const { care } = await setup(0x10);
    const v = await attest(care.fetch, await loadConfig(care.fetch, "/config.json"), NOW);
    const api = new CareAPI(new Gateway("", v.key, care.fetch));
    await api.login("alice", "correct horse");
    await api.createPatient(toPatient({ given: "Ada", family: "Lovelace", birthDate: "1955-12-10", gender: "female", mrn: "MRN-1" }));
    // A proxy saw the sealed "create patient" and sends it again, cookie and all.
    const captured = care.outer.at(-1)!;
    const resp = await care.fetch(captured.url, { method: "POST", headers: { "Content-Type": captured.contentType! }, body: buf(captured.body), credentials: "include" });
    assert.equal(resp.status, 200); // sealed: the refusal is for the care API's client, not the replayer
    assert.deepEqual(care.refused, ["replayed nonce"]);
    assert.deepEqual((await api.listPatients()).map((p) => p.mrn), ["MRN-1"], "the replay created nothing");
  });
  it("the fake care API refuses inner requests without a valid nonce or ts (as the care API will)", async () => {
    const { srv, care } = await setup(0x10);
    const base = { method: "POST", path: "/api/login", headers: {}, body: b64(utf8('{"username":"alice","password":"correct horse"}')) };
    const good = { nonce: b64url(new Uint8Array(16).fill(7)), ts: Date.now() };
    const cases: [string, Record<string, unknown>, string][] = [
      ["no nonce", { ...base, ts: good.ts }, "nonce missing or not 22 characters of base64url"],
      ["a short nonce", { ...base, nonce: "AAAA", ts: good.ts }, "nonce missing or not 22 characters of base64url"],
      ["a non-canonical nonce", { ...base, nonce: good.nonce.slice(0, 21) + "B", ts: good.ts }, "nonce not canonical base64url"],
      ["no ts", { ...base, nonce: good.nonce }, "ts missing or not integer milliseconds"],
      ["ts in seconds as a string", { ...base, nonce: good.nonce, ts: String(good.ts) }, "ts missing or not integer milliseconds"],
      ["fractional ts", { ...base, nonce: good.nonce, ts: good.ts + 0.5 }, "ts missing or not integer milliseconds"],
      ["a stale ts", { ...base, nonce: good.nonce, ts: good.ts - FRESH_WINDOW_MS - 60_000 }, "ts outside the window"],
      ["a ts from the future", { ...base, nonce: good.nonce, ts: good.ts + FRESH_WINDOW_MS + 60_000 }, "ts outside the window"],
    ];
    for (const [name, inner, why] of cases) {
      const { body, opener } = await sealRequest(srv.key, CONTEXT, utf8(JSON.stringify(inner)));
      const resp = await care.fetch("/api/sealed", { method: "POST", body: buf(body) });
      const r = decodeInnerResponse(await opener.open(new Uint8Array(await resp.arrayBuffer())));
      assert.equal(r.status, 400, name);
      assert.equal(care.refused.at(-1), why, name);
    }
    assert.equal(care.seen.length, 0, "nothing was routed");
    // The same request with a nonce and ts is routed once, then refused as a replay.
    for (const want of [200, 409]) {
      const { body, opener } = await sealRequest(srv.key, CONTEXT, utf8(JSON.stringify({ ...base, ...good })));
      const resp = await care.fetch("/api/sealed", { method: "POST", body: buf(body) });
      assert.equal(decodeInnerResponse(await opener.open(new Uint8Array(await resp.arrayBuffer()))).status, want);
    }
    assert.equal(care.seen.length, 1);
  });
  it("a request sealed to another key does not open at the service", async () => {
    const { care } = await setup(0x10);
    const wrong = await SealedServer.generate(0x10);
    await assert.rejects(new CareAPI(new Gateway("", wrong.key, care.fetch)).login("alice", "correct horse"), GatewayError);
    assert.equal(care.seen.length, 0);
  });
  it("a simulated care API is refused before anything is sent, with the reason", async () => {
    const { care } = await setup(0x10, { sim: true });
    const cfg = await loadConfig(care.fetch, "/config.json");
    await assert.rejects(attest(care.fetch, cfg, NOW), (e: unknown) => {
      assert.ok(e instanceof TokenError);
      assert.ok(describeFailure(e).some((l) => l.startsWith("cofre.simulation: expected false (hardware TEE)")));
      return true;
    });
    assert.equal(care.outer.length, 0);
  });
  it("an expired token is refused", async () => {
    const { care } = await setup(0x10);
    const cfg = await loadConfig(care.fetch, "/config.json");
    await assert.rejects(attest(care.fetch, cfg, () => new Date((T0 + 400) * 1000)), (e: unknown) => e instanceof TokenError && e.refusals[0]!.check === "exp");
  });
  it("missing config, token or JWKS are AttestationErrors naming the step", async () => {
    const { care } = await setup(0x10);
    await assert.rejects(loadConfig(care.fetch, "/missing.json"), (e: unknown) => e instanceof AttestationError && e.step === "config");
    const none = async () => new Response("x", { status: 503 });
    await assert.rejects(attest(none, config(), NOW), (e: unknown) => e instanceof AttestationError && (e.step === "token" || e.step === "jwks"));
    const noToken = async (url: string) => (url.endsWith("/api/attestation") ? Response.json({ tls_token: "x" }) : Response.json({ keys: [] }));
    await assert.rejects(attest(noToken, config(), NOW), (e: unknown) => e instanceof AttestationError && e.step === "token");
  });
});

describe("inner request and response encoding", () => {
  const fresh = { nonce: "AAECAwQFBgcICQoLDA0ODw", ts: 1777636860000 };
  it("encodes method, path, headers, base64 body, nonce and ts", () => {
    const b = JSON.parse(new TextDecoder().decode(encodeInnerRequest({ method: "POST", path: "/fhir/Patient", headers: { "Content-Type": "application/fhir+json" }, body: utf8("{}") }, fresh)));
    assert.deepEqual(b, { method: "POST", path: "/fhir/Patient", headers: { "Content-Type": "application/fhir+json" }, body: "e30=", nonce: "AAECAwQFBgcICQoLDA0ODw", ts: 1777636860000 });
    const g = JSON.parse(new TextDecoder().decode(encodeInnerRequest({ method: "GET", path: "/fhir/Patient" }, fresh)));
    assert.equal("body" in g, false);
    assert.equal(g.nonce, fresh.nonce);
  });
  it("refuses paths outside /api/ and /fhir/, the gateway itself, and other methods", () => {
    for (const path of ["/admin", "fhir/Patient", "/api/sealed", "//evil.example/api/x"]) {
      assert.throws(() => encodeInnerRequest({ method: "GET", path }, fresh), GatewayError, path);
    }
    assert.throws(() => encodeInnerRequest({ method: "PATCH" as any, path: "/api/x" }, fresh), GatewayError);
  });
  it("refuses a nonce that is not 16 bytes of base64url and a ts that is not integer milliseconds", () => {
    const r = { method: "GET", path: "/fhir/Patient" } as const;
    const bad: [string, { nonce: string; ts: number }][] = [
      ["empty nonce", { ...fresh, nonce: "" }],
      ["short nonce", { ...fresh, nonce: "AAECAwQFBgcICQoLDA0OD" }],
      ["long nonce", { ...fresh, nonce: fresh.nonce + "A" }],
      ["padded nonce", { ...fresh, nonce: "AAECAwQFBgcICQoLDA0ODw==" }],
      ["standard base64 nonce", { ...fresh, nonce: "AAECAwQFBgcICQoLDA0O+w" }],
      ["non-canonical nonce", { ...fresh, nonce: "AAECAwQFBgcICQoLDA0ODx" }],
      ["fractional ts", { ...fresh, ts: 1.5 }],
      ["zero ts", { ...fresh, ts: 0 }],
      ["NaN ts", { ...fresh, ts: NaN }],
    ];
    for (const [name, f] of bad) assert.throws(() => encodeInnerRequest(r, f), (e: unknown) => e instanceof GatewayError && /nonce|ts/.test(e.message), name);
  });
  it("freshness draws 16 random bytes per call and reads the injected clock", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const f = freshness(() => 1777636860000.7);
      assert.equal(f.nonce.length, 22);
      assert.equal(fromB64url(f.nonce).length, NONCE_SIZE);
      assert.equal(f.ts, 1777636860000);
      seen.add(f.nonce);
    }
    assert.equal(seen.size, 1000);
    const t = Date.now();
    assert.ok(Math.abs(freshness().ts - t) < FRESH_WINDOW_MS, "defaults to Date.now");
  });
  it("decodes a response and refuses malformed ones", () => {
    const ok = decodeInnerResponse(utf8('{"status":201,"headers":{"Content-Type":"application/json"},"body":"e30="}'));
    assert.equal(ok.status, 201);
    assert.equal(ok.headers["content-type"], "application/json");
    assert.equal(new TextDecoder().decode(ok.body), "{}");
    for (const bad of ['{"status":"200"}', '{"status":99}', '{"status":200,"body":"e30"}', '{"status":200,"body":1}', '{"status":200,"headers":{"a":1}}', '{"status":200,"x":1}', "[]", "nope", '{"status":200.5}']) {
      assert.throws(() => decodeInnerResponse(utf8(bad)), GatewayError, bad);
    }
  });
});

describe("Attestor: freshness rests on exp", () => {
  it("re-attests after expiry before sending, keeps the session for the same key, and sends nothing once the new token is refused", async () => {
    const signer = await newSigner();
    const srv = await SealedServer.generate(0x10);
    let t = T0 + 60;
    let measurement = MEASUREMENT;
    let fetched = 0;
    const attestation = async () => {
      fetched++;
      return { token: await signer.sign({ alg: "ES256", kid: signer.kid }, claims(jwkOf(srv.key), { iat: t - 60, measurement })) };
    };
    const care = new FakeCare(srv, { attestation, jwks: signer.jwks, config: cfgDoc, now: () => t * 1000 });
    const a = new Attestor(care.fetch, await loadConfig(care.fetch, "/config.json"), () => new Date(t * 1000));
    await (await a.client()).login("alice", "correct horse");
    assert.equal(fetched, 1);
    await (await a.client()).listPatients();
    assert.equal(fetched, 1, "a fresh token is not fetched again");
    t += 300 + 31; // past exp + leeway
    assert.equal(a.fresh(), false);
    await (await a.client()).createPatient(toPatient({ given: "A", family: "B", birthDate: "1955-01-01", gender: "other", mrn: "M1" }));
    assert.equal(fetched, 2, "an expired token is fetched and verified again before sending");
    t += 400;
    measurement = "cd".repeat(48); // the care API was replaced by other code
    const sent = care.outer.length;
    await assert.rejects(a.client(), (e: unknown) => e instanceof TokenError && e.refusals[0]!.check === "submods.cpu0.measurement");
    assert.equal(care.outer.length, sent, "nothing was sent after the refusal");
    assert.equal(a.verified, undefined);
    await assert.rejects(a.client(), TokenError);
  });
});

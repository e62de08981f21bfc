// Mutation fuzzing of every parser of untrusted bytes, from the committed
// seed corpora in test/fuzz/<Target>/. Each target must either accept or
// refuse with its own typed error: any other exception (a TypeError from
// reading a member of null, a RangeError…) fails the test. Deterministic:
// the PRNG seed is fixed (COFRE_FUZZ_SEED overrides it) and the iteration
// count is COFRE_FUZZ_ITERS (default 150 per target), so `npm test` stays
// fast; raise both for a longer run.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fromHex, utf8 } from "../src/bytes.js";
import { ConfigError, parseConfig } from "../src/config.js";
import { outcomeMessage, reportView } from "../src/fhir.js";
import { GatewayError, decodeInnerResponse } from "../src/gateway.js";
import { importKeyPair, nenc, type KEMID } from "../src/hpke.js";
import { SealedError, parsePublicJWK, recipientKey, sealRequest } from "../src/sealed.js";
import { TokenError, parseJWKS, verifyToken } from "../src/token.js";
import { T0, config, newSigner, portalRoot, readRepo } from "./helpers.js";

const ITERS = Number(process.env.COFRE_FUZZ_ITERS ?? "150");
const SEED = Number(process.env.COFRE_FUZZ_SEED ?? "20260501");

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = ['"', "{", "}", "[", "]", ",", ":", "0", "-1", "null", "true", "1e999", "\\u0000", '""', "{}", "[]", "=", ".", "AAAA", "9007199254740993"];

function mutate(r: () => number, s: string, corpus: string[]): string {
  const n = 1 + Math.floor(r() * 4);
  let out = s;
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * (out.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0: // flip a bit of one character (kept in the BMP)
        if (out.length > 0) {
          const p = Math.min(pos, out.length - 1);
          out = out.slice(0, p) + String.fromCharCode(out.charCodeAt(p) ^ (1 << Math.floor(r() * 7))) + out.slice(p + 1);
        }
        break;
      case 1:
        out = out.slice(0, pos) + INTERESTING[Math.floor(r() * INTERESTING.length)] + out.slice(pos);
        break;
      case 2:
        out = out.slice(0, pos) + out.slice(pos + Math.floor(r() * 16));
        break;
      case 3: {
        const len = Math.floor(r() * 32);
        out = out.slice(0, pos) + out.slice(pos, pos + len) + out.slice(pos);
        break;
      }
      case 4: {
        const other = corpus[Math.floor(r() * corpus.length)]!;
        out = out.slice(0, pos) + other.slice(Math.floor(r() * other.length));
        break;
      }
      default:
        out = out.slice(0, pos);
    }
  }
  return out;
}

function seeds(target: string): string[] {
  const dir = join(portalRoot, "test", "fuzz", target);
  const files = readdirSync(dir).sort();
  // A corpus glob that silently matches nothing would make the fuzz test vacuous.
  assert.ok(files.length > 0, `no seeds in ${dir}`);
  return files.map((f) => readFileSync(join(dir, f), "utf8"));
}

async function fuzz(target: string, body: (input: string) => Promise<void>, allowed: (e: unknown) => boolean, extra: string[] = []): Promise<void> {
  const corpus = [...seeds(target), ...extra];
  const r = prng(SEED ^ target.length);
  for (const s of corpus) await run(s);
  for (let i = 0; i < ITERS; i++) await run(mutate(r, corpus[i % corpus.length]!, corpus));
  async function run(input: string) {
    try {
      await body(input);
    } catch (e) {
      if (!allowed(e)) assert.fail(`${target}: input ${JSON.stringify(input.slice(0, 300))} threw ${String(e)}`);
    }
  }
}

const json = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

describe("fuzz", async () => {
  const signer = await newSigner();
  const now = new Date((T0 + 60) * 1000);
  it("FuzzClaims: any signed payload verifies or is a TokenError", async () => {
    await fuzz("FuzzClaims", async (s) => void (await verifyToken(await signer.sign({ alg: "ES256", kid: signer.kid }, json(s) as any), signer.jwks, config({ allowSimulation: true }), now)), (e) => e instanceof TokenError);
  });
  it("FuzzToken: any token string is accepted or a TokenError", async () => {
    await fuzz("FuzzToken", async (s) => void (await verifyToken(s, signer.jwks, config(), now)), (e) => e instanceof TokenError);
  });
  it("FuzzJWKS: parseJWKS accepts or throws TokenError", async () => {
    await fuzz("FuzzJWKS", async (s) => void (await parseJWKS(json(s))), (e) => e instanceof TokenError);
  });
  it("FuzzJWK: parsePublicJWK accepts or throws SealedError", async () => {
    await fuzz("FuzzJWK", async (s) => void (await parsePublicJWK(json(s))), (e) => e instanceof SealedError);
  });
  it("FuzzInnerResponse: decodeInnerResponse accepts or throws GatewayError", async () => {
    await fuzz("FuzzInnerResponse", async (s) => void decodeInnerResponse(utf8(s)), (e) => e instanceof GatewayError);
  });
  it("FuzzConfig: parseConfig accepts or throws ConfigError", async () => {
    await fuzz("FuzzConfig", async (s) => void parseConfig(s), (e) => e instanceof ConfigError);
  });
  it("FuzzReport: reading any FHIR JSON never throws", async () => {
    await fuzz("FuzzReport", async (s) => {
      reportView(json(s));
      outcomeMessage(json(s));
    }, () => false);
  });
  it("FuzzSealedResponse: a mutated sealed response never opens and throws only SealedError", async () => {
    const c = (JSON.parse(readRepo("sealed/testdata/vectors.json")) as { cases: any[] }).cases[1];
    const kem = c.kem_id as KEMID;
    const req = fromHex(c.request);
    const eph = await importKeyPair(kem, fromHex(c.skE), req.subarray(6, 6 + nenc(kem)));
    const { opener } = await sealRequest(await recipientKey(kem, fromHex(c.pkR)), c.context, utf8(c.plaintext), eph);
    const good = fromHex(c.sealed_response);
    const r = prng(SEED);
    for (let i = 0; i < ITERS; i++) {
      const m = new Uint8Array(good.subarray(0, Math.floor(r() * (good.length + 1))));
      if (m.length > 0) m[Math.floor(r() * m.length)]! ^= 1 << Math.floor(r() * 8);
      await assert.rejects(opener.open(m), (e: unknown) => e instanceof SealedError);
    }
  });
});

// Verification of the care API's attestation token in the browser: a cofre
// EAR JWT (token/ in Go; claim names from token/wire.go), signed by the
// attestation service (the coordinator) with ES256, verified with WebCrypto
// against the JWKS and the portal's config.json.
//
// In order, stopping at the first failure: size and compact-JWS syntax
// (canonical base64url, a JSON header without crit/b64/zip/enc, typ JWT if
// present); alg in the allowlist ("none" and HS* are refused by name,
// whatever the config says); kid present, pinned if pins are configured,
// and naming a usable key of the JWKS whose algorithm is alg (a JWKS with
// an EC or OKP kid that is not its key's RFC 7638 thumbprint is refused
// whole, so a pinned kid pins the key); the signature
// (ECDSA P-256 SHA-256 over the first two segments, JOSE r‖s, or Ed25519).
// Then every claim check runs and all failures are reported together: iss;
// exp, iat, nbf with 30 s leeway; no aud (the portal has no audience
// name); eat_profile; not a draft; cofre.runtime's "service" equal to the
// configured service, if one is; every submodule's ear.status affirming
// (warning only when simulation is allowed); cpu0's measurement pinned;
// simulation only if allowed; cnf.jwk a usable HPKE key.
//
// Not checked, and why: eat_nonce. The care API's token is fetched, not
// challenged, so there is no nonce to compare: freshness rests on exp (the
// coordinator issues short-lived tokens and the care API serves a current
// one). Also not checked: the evidence itself (the issuer appraised it),
// revocation before exp, and duplicate JSON members in the payload
// (JSON.parse keeps the last; after the signature check the payload is the
// issuer's own, and cofre's issuer never writes duplicates).

import { type Algorithm, type Config } from "./config.js";
import { buf, fromB64url, fromUTF8, utf8 } from "./bytes.js";
import { LEEWAY_SECONDS, MAX_JWKS_KEYS, MAX_JWKS_SIZE, MAX_TOKEN_SIZE } from "./limits.js";
import { type RecipientKey, SealedError, parsePublicJWK } from "./sealed.js";
import { thumbprint } from "./thumbprint.js";

/** Refusal is one failed check: which check, what was expected, what the token has. */
export interface Refusal {
  readonly check: string;
  readonly expected: string;
  readonly actual: string;
}

/** TokenError is a refused token; refusals lists every failed check (at least one). */
export class TokenError extends Error {
  override name = "TokenError";
  constructor(readonly refusals: readonly Refusal[]) {
    super(refusals.map((r) => `${r.check}: expected ${r.expected}, got ${r.actual}`).join("; "));
  }
}

/** Verified is what the portal shows of an accepted token, and the HPKE key it carries. */
export interface Verified {
  readonly issuer: string;
  readonly algorithm: Algorithm;
  readonly keyID: string;
  readonly issuedAt: Date;
  readonly expiry: Date;
  /** tee is cpu0's TEE ("sevsnp", "tdx", … or "sim"). */
  readonly tee: string;
  /** measurement is cpu0's launch measurement, lowercase hex. */
  readonly measurement: string;
  /** status is the worst submodule status. */
  readonly status: string;
  readonly submods: ReadonlyArray<{ readonly name: string; readonly status: string }>;
  readonly simulation: boolean;
  /** verifier is ear.verifier-id's build, if any. */
  readonly verifier: string;
  /** key is the care API's HPKE public key (cnf.jwk). */
  readonly key: RecipientKey;
  /** service is cofre.runtime's "service" (checked if config.json names one), or "". */
  readonly service: string;
}

/** EAT_PROFILE is the eat_profile of every cofre token (EAR). */
export const EAT_PROFILE = "tag:github.com,2023:veraison/ear";
/** SIMULATION_WARNING is the warning every simulated claim set carries (attest.SimulationWarning). */
export const SIMULATION_WARNING = "SIMULATION: software TEE, no confidentiality or integrity protection";

const REFUSED_HEADER_MEMBERS = ["crit", "b64", "zip", "enc"];
const STATUSES = ["affirming", "warning", "none", "contraindicated"];

function clip(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + "…" : s;
}

function refused(check: string, expected: string, actual: string): TokenError {
  return new TokenError([{ check, expected, actual: clip(actual) }]);
}

type JSONObject = Record<string, unknown>;

function isObject(v: unknown): v is JSONObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function segmentJSON(seg: string, what: string): JSONObject {
  let v: unknown;
  try {
    v = JSON.parse(fromUTF8(fromB64url(seg)));
  } catch {
    throw refused(what, "base64url of a JSON object", "undecodable");
  }
  if (!isObject(v)) throw refused(what, "a JSON object", "another JSON type");
  return v;
}

interface VerificationKey {
  readonly alg: Algorithm;
  readonly jwk: JsonWebKey;
}

/** coordinate decodes a 32-byte key coordinate strictly (canonical base64url), or returns undefined. */
function coordinate(v: unknown): Uint8Array | undefined {
  if (typeof v !== "string") return undefined;
  try {
    const b = fromB64url(v);
    return b.length === 32 ? b : undefined;
  } catch {
    return undefined;
  }
}

/**
 * parseJWKS returns the usable verification keys of a JWK Set by kid. Like token.StaticJWKS
 * it refuses the whole set if any key carries "d", if a usable key's coordinates do not
 * decode, or if two usable keys share a kid. It also refuses the set if an EC or OKP key's
 * kid is not the RFC 7638 SHA-256 thumbprint of that key.
 *
 * Why the thumbprint: cofre's issuer names every key by its thumbprint (token/keyset.go),
 * and config.json's pinnedKeyIDs pin kids. A kid that is only a label would pin nothing:
 * whoever serves jwksUrl (the static host, a proxy) could publish its own key under a
 * pinned kid and sign tokens with it. Bound to the key, a pinned kid admits one key only.
 * The check covers every EC and OKP key with a kid, usable or not (a set that lies about
 * one key is not trusted for the others); RSA and symmetric keys are skipped unread, as
 * the portal never uses them.
 */
export async function parseJWKS(jwks: unknown): Promise<Map<string, VerificationKey>> {
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw refused("jwks", 'a JWK Set ({"keys": […]})', "another document");
  if (JSON.stringify(jwks).length > MAX_JWKS_SIZE) throw refused("jwks", `at most ${MAX_JWKS_SIZE} bytes`, "larger");
  if (jwks.keys.length > MAX_JWKS_KEYS) throw refused("jwks", `at most ${MAX_JWKS_KEYS} keys`, String(jwks.keys.length));
  const out = new Map<string, VerificationKey>();
  for (const k of jwks.keys as unknown[]) {
    if (!isObject(k)) continue;
    // A publisher that leaks a private key has lost it: trust none of its keys.
    if ("d" in k) throw refused("jwks", "public keys only", 'a key with private member "d"');
    if (typeof k.kid !== "string" || k.kid === "") continue;
    if (k.kty === "EC" || k.kty === "OKP") {
      if (typeof k.crv !== "string" || typeof k.x !== "string" || (k.kty === "EC" && typeof k.y !== "string")) {
        throw refused("jwks", `key ${clip(k.kid)}: crv and coordinates as strings`, "a malformed key");
      }
      const tp = await thumbprint({ kty: k.kty, crv: k.crv, x: k.x, ...(k.kty === "EC" ? { y: k.y as string } : {}) });
      if (tp.kid !== k.kid) throw refused("jwks", `every kid the RFC 7638 thumbprint of its key (${tp.kid})`, `kid ${k.kid}`);
    }
    if (k.use !== undefined && k.use !== "sig") continue;
    if (k.key_ops !== undefined && !(Array.isArray(k.key_ops) && k.key_ops.includes("verify"))) continue;
    let alg: Algorithm;
    let jwk: JsonWebKey;
    if (k.kty === "EC" && k.crv === "P-256") {
      alg = "ES256";
      jwk = { kty: "EC", crv: "P-256", x: k.x as string, y: k.y as string };
    } else if (k.kty === "OKP" && k.crv === "Ed25519") {
      alg = "EdDSA";
      jwk = { kty: "OKP", crv: "Ed25519", x: k.x as string };
    } else {
      continue; // RSA, P-384, symmetric…: skipped, as RFC 7517 §5 allows
    }
    if (k.alg !== undefined && k.alg !== alg) continue;
    // Canonical coordinates only, so that the thumbprint checked above is
    // the one the issuer computed over the key's bytes (RFC 7638 §3.3).
    if (coordinate(k.x) === undefined || (alg === "ES256" && coordinate(k.y) === undefined)) {
      throw refused("jwks", `key ${clip(k.kid)}: 32-byte canonical base64url coordinates`, "undecodable");
    }
    if (out.has(k.kid)) throw refused("jwks", "unique key ids", `kid ${k.kid} twice`);
    out.set(k.kid, { alg, jwk });
  }
  return out;
}

async function checkSignature(key: VerificationKey, signingInput: string, sig: Uint8Array, kid: string): Promise<void> {
  const s = globalThis.crypto.subtle;
  const bad = () => refused("signature", `a valid ${key.alg} signature by key ${clip(kid)}`, "invalid");
  // JOSE ES256 signatures are r‖s, 64 bytes (RFC 7518 §3.4), which is
  // WebCrypto's ECDSA format too; a DER signature is refused here.
  if (sig.length !== 64) throw bad();
  let ok = false;
  try {
    if (key.alg === "ES256") {
      const ck = await s.importKey("jwk", key.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      ok = await s.verify({ name: "ECDSA", hash: "SHA-256" }, ck, buf(sig), buf(utf8(signingInput)));
    } else {
      const ck = await s.importKey("jwk", key.jwk, { name: "Ed25519" }, false, ["verify"]);
      ok = await s.verify({ name: "Ed25519" }, ck, buf(sig), buf(utf8(signingInput)));
    }
  } catch {
    throw refused("signature", `a ${key.alg} key WebCrypto can use`, "key or algorithm not supported by this browser");
  }
  if (!ok) throw bad();
}

function iso(t: number): string {
  return new Date(t * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * verifyToken verifies the care API's token against jwks (the parsed JWK Set) and cfg
 * at time now. It returns what to show and the HPKE key, or throws TokenError.
 */
export async function verifyToken(token: string, jwks: unknown, cfg: Config, now: Date): Promise<Verified> {
  // --- syntax ---
  if (typeof token !== "string" || token.length === 0) throw refused("jws", "a compact JWS", "empty");
  if (token.length > MAX_TOKEN_SIZE) throw refused("jws", `at most ${MAX_TOKEN_SIZE} bytes`, `${token.length} bytes`);
  const parts = token.split(".");
  if (parts.length !== 3) throw refused("jws", "3 segments (compact JWS)", `${parts.length}`);
  const [h, p, sg] = parts as [string, string, string];
  const header = segmentJSON(h, "header");
  for (const m of REFUSED_HEADER_MEMBERS) {
    if (m in header) throw refused("header." + m, "absent (no JWS extensions are supported)", "present");
  }
  if (header.typ !== undefined && (typeof header.typ !== "string" || header.typ.toUpperCase() !== "JWT")) {
    throw refused("header.typ", "JWT", String(header.typ));
  }
  let sig: Uint8Array;
  try {
    sig = fromB64url(sg);
  } catch {
    throw refused("signature", "base64url", "undecodable");
  }

  // --- algorithm ---
  const alg = typeof header.alg === "string" ? header.alg : "";
  const want = "one of " + cfg.algorithms.join(", ");
  const up = alg.toUpperCase();
  if (up === "NONE") throw refused("header.alg", want, `${alg} (an unsigned token)`);
  // HMAC: the verifier would use the issuer's public key as the shared
  // secret, and anyone could forge tokens (the JWT key-confusion attack).
  if (up.startsWith("HS")) throw refused("header.alg", want, `${alg} (HMAC: refused, a public key is not a secret)`);
  if (!(cfg.algorithms as readonly string[]).includes(alg)) throw refused("header.alg", want, alg === "" ? "absent" : alg);

  // --- key ---
  const kid = typeof header.kid === "string" ? header.kid : "";
  if (kid === "") throw refused("header.kid", "the id of a key of the JWKS", "absent");
  if (cfg.pinnedKeyIDs.length > 0 && !cfg.pinnedKeyIDs.includes(kid)) {
    throw refused("header.kid", "one of the pinned keys " + cfg.pinnedKeyIDs.join(", "), kid);
  }
  const key = (await parseJWKS(jwks)).get(kid);
  if (key === undefined) throw refused("header.kid", "a key of the JWKS", kid);
  if (key.alg !== alg) throw refused("header.alg", `${key.alg} (the algorithm of key ${clip(kid)})`, alg);
  await checkSignature(key, h + "." + p, sig, kid);

  // --- claims: from here on the payload is the issuer's ---
  const c = segmentJSON(p, "payload");
  const fails: Refusal[] = [];
  const fail = (check: string, expected: string, actual: string) => fails.push({ check, expected, actual: clip(actual) });
  const nowS = Math.floor(now.getTime() / 1000);
  const num = (name: string, required: boolean): number | undefined => {
    const v = c[name];
    if (v === undefined) {
      if (required) fail(name, "present", "absent");
      return undefined;
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > 2 ** 40) {
      fail(name, "whole seconds since 1970", JSON.stringify(v));
      return undefined;
    }
    return v;
  };

  const iss = typeof c.iss === "string" ? c.iss : "";
  if (iss !== cfg.issuer) fail("iss", cfg.issuer, iss || "absent");

  const skew = ` (verification time ${iso(nowS)}, leeway ${LEEWAY_SECONDS}s)`;
  const exp = num("exp", true);
  const iat = num("iat", true);
  const nbf = num("nbf", false);
  if (exp !== undefined && nowS > exp + LEEWAY_SECONDS) fail("exp", `at or after ${iso(nowS - LEEWAY_SECONDS)}${skew}`, `${iso(exp)} (expired)`);
  if (iat !== undefined && iat > nowS + LEEWAY_SECONDS) fail("iat", `at or before ${iso(nowS + LEEWAY_SECONDS)}${skew}`, iso(iat));
  if (nbf !== undefined && nbf > nowS + LEEWAY_SECONDS) fail("nbf", `at or before ${iso(nowS + LEEWAY_SECONDS)}${skew}`, iso(nbf));
  // RFC 7519 §4.1.3: a relying party that does not identify itself with
  // the audience must reject the token; the portal has no audience name.
  if (c.aud !== undefined) fail("aud", "absent (the portal has no audience name)", JSON.stringify(c.aud));
  if (c.eat_profile !== EAT_PROFILE) fail("eat_profile", EAT_PROFILE, String(c.eat_profile ?? "absent"));
  if (c["cofre.draft"] === true) fail("cofre.draft", "false (a token from a published policy)", "true (a dry run under a draft policy)");
  // Service identity: the measurement says which code runs, not which
  // service it is. cofre's diagnostics service runs the same binary as the
  // care API, so its token would pass every other check; the coordinator
  // writes the service's name into cofre.runtime, and the portal wants the
  // care API's. Strict: no claim, or no service in it, is a refusal.
  if (cfg.service !== undefined) {
    const rt = c["cofre.runtime"];
    const want = `${JSON.stringify(cfg.service)} (the care API's service name)`;
    if (rt === undefined) fail("cofre.runtime.service", want, "absent (no cofre.runtime claim)");
    else if (!isObject(rt) || !Object.values(rt).every((v) => typeof v === "string")) fail("cofre.runtime", "an object of string members", JSON.stringify(rt));
    else if (rt.service === undefined) fail("cofre.runtime.service", want, "absent");
    else if (rt.service !== cfg.service) fail("cofre.runtime.service", want, JSON.stringify(rt.service));
  }

  // Submodules: every status, cpu0's measurement, and simulation.
  const submods: { name: string; status: string }[] = [];
  let tee = "";
  let measurement = "";
  let simulated = c["cofre.simulation"] === true;
  if (c["cofre.simulation"] !== undefined && typeof c["cofre.simulation"] !== "boolean") fail("cofre.simulation", "true or false", JSON.stringify(c["cofre.simulation"]));
  if (!isObject(c.submods) || Object.keys(c.submods).length === 0) {
    fail("submods", "an object with a cpu0 submodule", "absent or empty");
  } else {
    if (!isObject(c.submods.cpu0)) fail("submods", "a cpu0 submodule", "none");
    for (const name of Object.keys(c.submods).sort()) {
      const s = c.submods[name];
      const status = isObject(s) && typeof s["ear.status"] === "string" ? s["ear.status"] : "";
      submods.push({ name, status: status || "absent" });
      const claims = isObject(s) && isObject(s["cofre.claims"]) ? s["cofre.claims"] : undefined;
      if (claims !== undefined) {
        const warnings = Array.isArray(claims.warnings) ? claims.warnings : [];
        if (claims.tee === "sim" || claims.format === "sim.v1" || warnings.includes(SIMULATION_WARNING)) simulated = true;
      }
      if (name === "cpu0") {
        if (claims === undefined) fail("submods.cpu0.cofre.claims", "present", "absent");
        else {
          tee = typeof claims.tee === "string" ? claims.tee : "";
          measurement = typeof claims.measurement === "string" ? claims.measurement.toLowerCase() : "";
        }
      }
    }
    for (const s of submods) {
      if (!STATUSES.includes(s.status)) fail(`submods.${s.name}.ear.status`, "affirming, warning, contraindicated or none", s.status);
      else if (s.status === "affirming") continue;
      // A warning is what a simulated TEE gets (and an out-of-date TCB);
      // only a demo that admits simulation admits it.
      else if (s.status === "warning" && cfg.allowSimulation) continue;
      else fail(`submods.${s.name}.ear.status`, cfg.allowSimulation ? "affirming or warning" : "affirming", s.status);
    }
    if (isObject(c.submods.cpu0) && !cfg.measurements.includes(measurement)) {
      fail("submods.cpu0.measurement", "one of " + cfg.measurements.join(", "), measurement || "absent");
    }
  }
  // The plain-language claim must agree with the submodules (the Go
  // decoder refuses a disagreement); either saying "simulated" counts.
  if (typeof c["cofre.simulation"] === "boolean" && c["cofre.simulation"] !== simulated) {
    fail("cofre.simulation", `${simulated} (from the submodules)`, String(c["cofre.simulation"]));
  }
  if (simulated && !cfg.allowSimulation) fail("cofre.simulation", "false (hardware TEE)", "true (SIMULATION: no confidentiality)");

  let key2: RecipientKey | undefined;
  const cnf = c.cnf;
  if (!isObject(cnf) || cnf.jwk === undefined) {
    fail("cnf.jwk", "the care API's HPKE public key", "absent");
  } else {
    try {
      key2 = await parsePublicJWK(cnf.jwk);
    } catch (e) {
      fail("cnf.jwk", "an EC P-256 or OKP X25519 public encryption key", e instanceof SealedError ? e.message : "unusable");
    }
  }
  if (fails.length > 0 || key2 === undefined) throw new TokenError(fails);

  const worst = submods.reduce((w, s) => (STATUSES.indexOf(s.status) > STATUSES.indexOf(w) ? s.status : w), "affirming");
  const vid = c["ear.verifier-id"];
  return {
    issuer: iss,
    algorithm: alg as Algorithm,
    keyID: kid,
    issuedAt: new Date(iat! * 1000),
    expiry: new Date(exp! * 1000),
    tee,
    measurement,
    status: worst,
    submods,
    simulation: simulated,
    verifier: isObject(vid) && typeof vid.build === "string" ? vid.build : "",
    key: key2,
    service: isObject(c["cofre.runtime"]) && typeof c["cofre.runtime"].service === "string" ? c["cofre.runtime"].service : "",
  };
}

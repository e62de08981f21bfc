// Test-only helpers: paths, a WebCrypto ES256 token signer that writes
// cofre-shaped EAR tokens, and a default config.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { b64url, buf, utf8 } from "../src/bytes.js";
import { type Config } from "../src/config.js";
import { type RecipientKey } from "../src/sealed.js";
import { thumbprint } from "../src/thumbprint.js";

/** portalRoot is health/portal (tests run from build/test/). */
export const portalRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** repoRoot is the cofre module root. */
export const repoRoot = join(portalRoot, "..", "..");

export function readRepo(path: string): string {
  return readFileSync(join(repoRoot, path), "utf8");
}

export const MEASUREMENT = "ab".repeat(48); // token/testdata's cpu0 measurement
export const ISSUER = "https://attestd.example";
export const T0 = 1777636800; // 2026-05-01T12:00:00Z, the token fixtures' iat

export function config(over: Partial<Config> = {}): Config {
  return {
    careApi: "",
    jwksUrl: "https://attestd.example/v1/certs",
    issuer: ISSUER,
    measurements: [MEASUREMENT],
    allowSimulation: false,
    pinnedKeyIDs: [],
    algorithms: ["ES256"],
    ...over,
  };
}

/** Signer is an ES256 issuer made in the test. */
export interface Signer {
  kid: string;
  jwks: { keys: Record<string, unknown>[] };
  sign(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string>;
}

/**
 * newSigner makes a fresh ES256 key whose kid is its RFC 7638 thumbprint, as cofre's
 * issuer names keys. kid overrides that: a JWKS that lies about its key (an attacker's
 * key published under someone else's kid), which the portal must refuse.
 */
export async function newSigner(kid?: string): Promise<Signer> {
  const s = globalThis.crypto.subtle;
  const kp = (await s.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const pub = await s.exportKey("jwk", kp.publicKey);
  kid ??= (await thumbprint({ kty: "EC", crv: "P-256", x: pub.x!, y: pub.y! })).kid;
  return {
    kid,
    jwks: { keys: [{ kty: "EC", crv: "P-256", x: pub.x, y: pub.y, kid, alg: "ES256", use: "sig" }] },
    async sign(header, payload) {
      const h = b64url(utf8(JSON.stringify(header)));
      const p = b64url(utf8(JSON.stringify(payload)));
      const sig = new Uint8Array(await s.sign({ name: "ECDSA", hash: "SHA-256" }, kp.privateKey, buf(utf8(h + "." + p))));
      return `${h}.${p}.${b64url(sig)}`;
    },
  };
}

/** jwkOf renders a recipient key as the cnf JWK the coordinator puts in the token. */
export function jwkOf(k: RecipientKey): Record<string, unknown> {
  if (k.kem === 0x10) return { kty: "EC", crv: "P-256", x: b64url(k.raw.subarray(1, 33)), y: b64url(k.raw.subarray(33, 65)), use: "enc", kid: k.kid };
  return { kty: "OKP", crv: "X25519", x: b64url(k.raw), use: "enc", kid: k.kid };
}

/** claims returns a cofre EAR payload for a hardware (sevsnp) care API, or a simulated one. */
export function claims(cnfJWK: Record<string, unknown> | undefined, opts: { sim?: boolean; iat?: number; measurement?: string } = {}): Record<string, unknown> {
  const sim = opts.sim ?? false;
  const iat = opts.iat ?? T0;
  const c: Record<string, unknown> = {
    "cofre.draft": false,
    "cofre.simulation": sim,
    "cofre.tee": sim ? "sim" : "sevsnp",
    "ear.verifier-id": { developer: "https://github.com/cofre-cc/cofre", build: "cofre test" },
    eat_profile: "tag:github.com,2023:veraison/ear",
    exp: iat + 300,
    iat,
    iss: ISSUER,
    submods: {
      cpu0: {
        "ear.status": sim ? "warning" : "affirming",
        "cofre.claims": {
          format: sim ? "sim.v1" : "sevsnp.report",
          tee: sim ? "sim" : "sevsnp",
          measurement: opts.measurement ?? MEASUREMENT,
          svn: 0,
          debug: sim,
          report_data: "07".repeat(64),
          tcb_status: sim ? "Unevaluated" : "UpToDate",
          ...(sim ? { warnings: ["SIMULATION: software TEE, no confidentiality or integrity protection"] } : {}),
        },
      },
    },
  };
  if (cnfJWK !== undefined) c.cnf = { jwk: cnfJWK };
  return c;
}

// verify_token.mjs: an independent verifier of cofre attestation tokens,
// written against the JOSE standards only (RFC 7515 JWS, RFC 7517 JWK,
// RFC 7518 ES256/ES384), with Node's WebCrypto and no npm package. It
// proves that the token format is standard: nothing of cofre's code is
// involved.
//
// Usage: node verify_token.mjs TOKEN JWKS_FILE [ISSUER]
// Exit 0 and a JSON summary on stdout if the signature verifies with the
// key the header names and the token is unexpired (and iss matches, if
// given); exit 1 with the reason on stderr otherwise.
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";

const { subtle } = webcrypto;

// Algorithms this verifier accepts, and the WebCrypto parameters of each.
// "none" and HMAC are refused by omission.
const ALGS = {
  ES256: { curve: "P-256", hash: "SHA-256" },
  ES384: { curve: "P-384", hash: "SHA-384" },
};

function b64url(s) {
  return Buffer.from(s, "base64url");
}

function fail(msg) {
  process.stderr.write(`REFUSED: ${msg}\n`);
  process.exit(1);
}

async function main() {
  const [tok, jwksFile, issuer] = process.argv.slice(2);
  if (!tok || !jwksFile) fail("usage: node verify_token.mjs TOKEN JWKS_FILE [ISSUER]");
  const parts = tok.trim().split(".");
  if (parts.length !== 3) fail(`a JWS has 3 segments, this has ${parts.length}`);
  const header = JSON.parse(b64url(parts[0]).toString("utf8"));
  const alg = ALGS[header.alg];
  if (!alg) fail(`algorithm ${JSON.stringify(header.alg)} not allowed`);
  const jwks = JSON.parse(readFileSync(jwksFile, "utf8"));
  const jwk = (jwks.keys || []).find((k) => k.kid === header.kid);
  if (!jwk) fail(`no key with kid ${header.kid} in the JWKS`);
  if (jwk.kty !== "EC" || jwk.crv !== alg.curve) fail(`key ${jwk.kid} is not an ${alg.curve} key`);
  if (jwk.alg && jwk.alg !== header.alg) fail(`key ${jwk.kid} is for ${jwk.alg}, token says ${header.alg}`);

  const key = await subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    { name: "ECDSA", namedCurve: alg.curve },
    false,
    ["verify"],
  );
  // JWS ECDSA signatures are r‖s, which is WebCrypto's format too.
  const ok = await subtle.verify(
    { name: "ECDSA", hash: alg.hash },
    key,
    b64url(parts[2]),
    new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
  );
  if (!ok) fail("signature does not verify");

  const claims = JSON.parse(b64url(parts[1]).toString("utf8"));
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== "number" || claims.exp <= now) fail(`expired (exp ${claims.exp}, now ${now})`);
  if (issuer && claims.iss !== issuer) fail(`issuer ${claims.iss}, want ${issuer}`);
  if (claims.eat_profile !== "tag:github.com,2023:veraison/ear") fail(`eat_profile ${claims.eat_profile}`);

  const cpu0 = (claims.submods || {}).cpu0 || {};
  process.stdout.write(
    JSON.stringify({
      valid: true,
      alg: header.alg,
      kid: header.kid,
      iss: claims.iss,
      tee: claims["cofre.tee"],
      simulation: claims["cofre.simulation"] === true,
      status: cpu0["ear.status"],
      measurement: (cpu0["cofre.claims"] || {}).measurement,
      cnf: claims.cnf ? Object.keys(claims.cnf) : [],
    }) + "\n",
  );
}

main().catch((e) => fail(e.message));

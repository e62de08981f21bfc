// RFC 7638 JWK thumbprints, the one implementation the portal has: the
// care API's HPKE key id (sealed.ts, bound into the HPKE info and checked
// against cnf.jwk's kid) and the attestation service's signing key ids
// (token.ts: every cofre kid is its key's thumbprint, so a kid names exactly
// one key and pinning a kid pins the key).
//
// Only the key types cofre uses: EC (crv, kty, x, y) and OKP (crv, kty, x).
// The members are taken as the strings given; callers that need canonical
// coordinates decode them strictly first (RFC 7638 §3.3).

import { b64url, buf, utf8 } from "./bytes.js";

/** ThumbprintMembers are a JWK's required members for RFC 7638 §3.2: y only for EC. */
export interface ThumbprintMembers {
  readonly kty: "EC" | "OKP";
  readonly crv: string;
  readonly x: string;
  readonly y?: string;
}

/**
 * thumbprintInput is the RFC 7638 §3.2 hash input: the required members in
 * lexicographic order, no whitespace, each value a JSON string.
 */
export function thumbprintInput(m: ThumbprintMembers): string {
  const q = JSON.stringify;
  if (m.kty === "EC") return `{"crv":${q(m.crv)},"kty":"EC","x":${q(m.x)},"y":${q(m.y ?? "")}}`;
  return `{"crv":${q(m.crv)},"kty":"OKP","x":${q(m.x)}}`;
}

/** thumbprint is the SHA-256 thumbprint of a key: the digest, and the digest as base64url (the kid). */
export async function thumbprint(m: ThumbprintMembers): Promise<{ readonly digest: Uint8Array; readonly kid: string }> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", buf(utf8(thumbprintInput(m)))));
  return { digest, kid: b64url(digest) };
}

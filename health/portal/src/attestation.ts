// The attestation step the portal runs before it sends anything: fetch
// config.json, the care API's token (GET /api/attestation) and the
// attestation service's JWKS, and verify the token (token.ts). Only a
// Verified result yields the HPKE key every later request is sealed to.

import { type Config, ConfigError, parseConfig } from "./config.js";
import { fromUTF8 } from "./bytes.js";
import { CareAPI } from "./api.js";
import { type Fetch, Gateway } from "./gateway.js";
import { LEEWAY_SECONDS, MAX_CONFIG_SIZE, MAX_JWKS_SIZE, MAX_TOKEN_SIZE } from "./limits.js";
import { TokenError, type Verified, verifyToken } from "./token.js";

/** AttestationError is a failure to obtain what verification needs (not a verdict on the token). */
export class AttestationError extends Error {
  override name = "AttestationError";
  constructor(
    readonly step: "config" | "token" | "jwks",
    message: string,
  ) {
    super(message);
  }
}

async function getText(fetchFn: Fetch, url: string, limit: number, step: AttestationError["step"], credentials: RequestCredentials): Promise<string> {
  let r: Response;
  try {
    r = await fetchFn(url, { method: "GET", cache: "no-store", credentials, redirect: "follow" });
  } catch {
    throw new AttestationError(step, `${url} could not be fetched`);
  }
  if (!r.ok) throw new AttestationError(step, `${url} answered HTTP ${r.status}`);
  const b = new Uint8Array(await r.arrayBuffer());
  if (b.length > limit) throw new AttestationError(step, `${url}: ${b.length} bytes, limit ${limit}`);
  try {
    return fromUTF8(b);
  } catch {
    throw new AttestationError(step, `${url}: not UTF-8`);
  }
}

/** loadConfig fetches and parses config.json. */
export async function loadConfig(fetchFn: Fetch, url = "config.json"): Promise<Config> {
  const text = await getText(fetchFn, url, MAX_CONFIG_SIZE, "config", "same-origin");
  try {
    return parseConfig(text);
  } catch (e) {
    throw new AttestationError("config", e instanceof ConfigError ? e.message : "config.json is invalid");
  }
}

/** fetchToken gets the care API's HPKE token; tls_token, if present, is ignored. */
export async function fetchToken(fetchFn: Fetch, cfg: Config): Promise<string> {
  const text = await getText(fetchFn, cfg.careApi + "/api/attestation", MAX_TOKEN_SIZE + 4096 + MAX_TOKEN_SIZE, "token", "omit");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AttestationError("token", "/api/attestation: not JSON");
  }
  const t = (v as Record<string, unknown> | null)?.token;
  if (typeof t !== "string" || t === "") throw new AttestationError("token", '/api/attestation: no "token" string');
  return t;
}

/** fetchJWKS gets the attestation service's JWK Set. */
export async function fetchJWKS(fetchFn: Fetch, cfg: Config): Promise<unknown> {
  const text = await getText(fetchFn, cfg.jwksUrl, MAX_JWKS_SIZE, "jwks", "omit");
  try {
    return JSON.parse(text);
  } catch {
    throw new AttestationError("jwks", "the JWKS is not JSON");
  }
}

/** attest runs the whole check. It throws AttestationError or TokenError. */
export async function attest(fetchFn: Fetch, cfg: Config, now: () => Date): Promise<Verified> {
  const [token, jwks] = await Promise.all([fetchToken(fetchFn, cfg), fetchJWKS(fetchFn, cfg)]);
  return verifyToken(token, jwks, cfg, now());
}

/** describeFailure renders an attestation failure for the user: which check, expected, actual. */
export function describeFailure(e: unknown): string[] {
  if (e instanceof TokenError) return e.refusals.map((r) => `${r.check}: expected ${r.expected}; the token has ${r.actual}`);
  if (e instanceof AttestationError) return [`${e.step}: ${e.message}`];
  return ["unexpected error: " + (e instanceof Error ? e.message : String(e))];
}

/**
 * Attestor holds the verified token and the API client sealed to its key. client() is
 * the only way to the API: it attests first, and again once the token has expired
 * (freshness rests on exp), so nothing is ever sealed to a key whose token is stale.
 * A failed re-attestation drops the client: nothing more is sent until one succeeds.
 */
export class Attestor {
  #verified: Verified | undefined;
  #api: CareAPI | undefined;
  readonly #fetch: Fetch;
  readonly #cfg: Config;
  readonly #now: () => Date;

  constructor(fetchFn: Fetch, cfg: Config, now: () => Date) {
    this.#fetch = fetchFn;
    this.#cfg = cfg;
    this.#now = now;
  }

  /** verified is the current verified token, if any. */
  get verified(): Verified | undefined {
    return this.#verified;
  }

  /** refresh fetches and verifies the token; it throws AttestationError or TokenError. */
  async refresh(): Promise<Verified> {
    try {
      const v = await attest(this.#fetch, this.#cfg, this.#now);
      // Same key: keep the client (and its CSRF token). A new key (the care
      // API restarted) gets a new client: the old session is gone anyway.
      if (this.#api === undefined || this.#verified === undefined || this.#verified.key.kid !== v.key.kid) {
        this.#api = new CareAPI(new Gateway(this.#cfg.careApi, v.key, this.#fetch, () => this.#now().getTime()));
      }
      this.#verified = v;
      return v;
    } catch (e) {
      this.#verified = undefined;
      this.#api = undefined;
      throw e;
    }
  }

  /** fresh reports whether the current token is still within exp (with the leeway). */
  fresh(): boolean {
    return this.#verified !== undefined && this.#now().getTime() <= this.#verified.expiry.getTime() + LEEWAY_SECONDS * 1000;
  }

  /** client returns the API client, attesting again first if the token is missing or expired. */
  async client(): Promise<CareAPI> {
    if (!this.fresh() || this.#api === undefined) await this.refresh();
    return this.#api!;
  }
}

// The portal's configuration: config.json, served next to index.html by
// whoever deploys the portal. It is the portal's root of trust: which
// attestation service (JWKS, issuer) and which care API builds
// (measurements) it accepts. It is parsed strictly (unknown members are
// refused) because a misspelt member would silently fall back to a default.

import { MAX_CONFIG_SIZE } from "./limits.js";

/** Algorithms the portal can verify. "none" and HMAC are never algorithms. */
export const SUPPORTED_ALGORITHMS = ["ES256", "EdDSA"] as const;
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export interface Config {
  /** careApi is the care API's base URL without a trailing slash; "" means the portal's own origin. */
  readonly careApi: string;
  /** jwksUrl is where the attestation service's JWK Set is fetched. */
  readonly jwksUrl: string;
  /** issuer is the expected iss of the care API's token. */
  readonly issuer: string;
  /** measurements are the accepted launch measurements of cpu0, lowercase hex. At least one. */
  readonly measurements: readonly string[];
  /** allowSimulation admits a simulated TEE (a demo): a red banner is shown. Default false. */
  readonly allowSimulation: boolean;
  /**
   * pinnedKeyIDs, if not empty, are the only signing key ids accepted. Each is the
   * attestation service's key's RFC 7638 SHA-256 thumbprint, base64url (43 characters):
   * the JWKS is refused if a kid is not its key's thumbprint, so a pin names one key.
   */
  readonly pinnedKeyIDs: readonly string[];
  /** algorithms is the signature allowlist, a subset of SUPPORTED_ALGORITHMS. Default ["ES256"]. */
  readonly algorithms: readonly Algorithm[];
  /**
   * service, if set, is the service name the care API's token must carry in its
   * cofre.runtime claim ({"service": "careapi"}). Another cofre service built from the
   * same binary has the same measurement; this tells the two apart. Default: not checked.
   */
  readonly service?: string;
}

/** ConfigError says which member of config.json is wrong. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`config.json: ${field}: ${message}`);
  }
}

const MEMBERS = new Set(["careApi", "jwksUrl", "issuer", "measurements", "allowSimulation", "pinnedKeyIDs", "algorithms", "service"]);

function httpURL(field: string, v: string, allowRelative: boolean): void {
  let u: URL;
  try {
    u = new URL(v, allowRelative ? "https://relative.invalid/" : undefined);
  } catch {
    throw new ConfigError(field, "not a URL");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new ConfigError(field, "want an http(s) URL");
  if (u.username !== "" || u.password !== "") throw new ConfigError(field, "credentials in a URL are refused");
}

function stringList(o: Record<string, unknown>, field: string): string[] {
  const v = o[field];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && x !== "")) throw new ConfigError(field, "want an array of non-empty strings");
  return v as string[];
}

/** parseConfig parses and checks config.json. */
export function parseConfig(text: string): Config {
  if (text.length > MAX_CONFIG_SIZE) throw new ConfigError("(document)", `over ${MAX_CONFIG_SIZE} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ConfigError("(document)", "not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ConfigError("(document)", "not a JSON object");
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!MEMBERS.has(k)) throw new ConfigError(k, "unknown member");

  if (typeof o.careApi !== "string") throw new ConfigError("careApi", "want a string (\"\" for the portal's origin)");
  const careApi = o.careApi.replace(/\/+$/, "");
  if (careApi !== "") httpURL("careApi", careApi, false);

  if (typeof o.jwksUrl !== "string" || o.jwksUrl === "") throw new ConfigError("jwksUrl", "want a URL");
  httpURL("jwksUrl", o.jwksUrl, true);

  if (typeof o.issuer !== "string" || o.issuer === "") throw new ConfigError("issuer", "want the attestation service's issuer");

  const measurements = stringList(o, "measurements").map((m) => m.toLowerCase());
  // Without a measurement any workload the issuer attested would pass as
  // the care API: the pin is what makes the token mean "this code".
  if (measurements.length === 0) throw new ConfigError("measurements", "at least one measurement is required");
  for (const m of measurements) if (!/^[0-9a-f]{2,}$/.test(m) || m.length % 2 !== 0) throw new ConfigError("measurements", "want hex strings");

  let allowSimulation = false;
  if (o.allowSimulation !== undefined) {
    if (typeof o.allowSimulation !== "boolean") throw new ConfigError("allowSimulation", "want true or false");
    allowSimulation = o.allowSimulation;
  }

  const pinnedKeyIDs = o.pinnedKeyIDs === undefined ? [] : stringList(o, "pinnedKeyIDs");
  // A pin that is not a SHA-256 thumbprint could never match a cofre kid:
  // refuse it here rather than refuse every token later.
  for (const k of pinnedKeyIDs) if (!/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(k)) throw new ConfigError("pinnedKeyIDs", "want RFC 7638 SHA-256 thumbprints (43 characters of base64url)");

  let service: string | undefined;
  if (o.service !== undefined) {
    // The bounds of a cofre.runtime value name (token.CheckRuntime): printable ASCII.
    if (typeof o.service !== "string" || !/^[\x21-\x7e]{1,256}$/.test(o.service)) throw new ConfigError("service", "want a service name (printable ASCII, no spaces)");
    service = o.service;
  }

  let algorithms: Algorithm[] = ["ES256"];
  if (o.algorithms !== undefined) {
    const l = stringList(o, "algorithms");
    if (l.length === 0) throw new ConfigError("algorithms", "empty");
    for (const a of l) {
      if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(a)) throw new ConfigError("algorithms", `${JSON.stringify(a.slice(0, 32))} not supported (want ${SUPPORTED_ALGORITHMS.join(", ")})`);
    }
    algorithms = l as Algorithm[];
  }
  const cfg: Config = { careApi, jwksUrl: o.jwksUrl, issuer: o.issuer, measurements, allowSimulation, pinnedKeyIDs, algorithms };
  return service === undefined ? cfg : { ...cfg, service };
}

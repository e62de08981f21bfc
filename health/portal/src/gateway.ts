// The care API's sealed gateway, client side: every portal call is an
// "inner request" ({"method","path","headers","body","nonce","ts"}) sealed
// to the care API's attested HPKE key and POSTed to /api/sealed; the answer
// is a sealed "inner response" ({"status","headers","body"}). Cookies travel
// on the outer request (credentials: "include"); everything the portal says
// or hears about patients is inside the seal.
//
// Replay: whoever sits between the browser and the care API (a TLS-
// terminating proxy, the static host) cannot read a sealed request, but it
// could send it again, with the cookie it also saw: "create this patient",
// "diagnose this image" a second time. Every inner request therefore
// carries a fresh random nonce and the time it was made; the care API
// refuses a nonce it has seen and a time outside its window, so a captured
// request works once, and only while it is fresh.
//
// Not shown: anything in an answer that is not sealed. Only the care API
// can seal a response to this request's key; a plain answer may have been
// written by anything on the way, so the user sees a fixed message and the
// HTTP status, never its text.

import { b64, b64url, buf, fromB64, fromUTF8, utf8 } from "./bytes.js";
import { MAX_SEALED_BODY } from "./limits.js";
import { MEDIA_TYPE, type RecipientKey, SealedError, sealRequest } from "./sealed.js";

export const GATEWAY_PATH = "/api/sealed";
/** CONTEXT is the sealed context of every gateway request: method, space, path. */
export const CONTEXT = "POST " + GATEWAY_PATH;

export type Method = "GET" | "POST" | "PUT" | "DELETE";
const METHODS: readonly string[] = ["GET", "POST", "PUT", "DELETE"];

export interface InnerRequest {
  readonly method: Method;
  /** path starts with /api/ or /fhir/, and may carry a query. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

/** NONCE_SIZE is the size of an inner request's nonce, 16 random bytes: no two requests ever share one (2^-64 after 2^32 requests). */
export const NONCE_SIZE = 16;

/** Freshness is what makes an inner request unique and dated; the care API requires both. */
export interface Freshness {
  /** nonce is NONCE_SIZE random bytes, base64url without padding (22 characters). */
  readonly nonce: string;
  /** ts is when the request was made, integer Unix milliseconds. */
  readonly ts: number;
}

/** freshness draws a new nonce (crypto.getRandomValues) and reads the clock. */
export function freshness(now: () => number = Date.now): Freshness {
  const n = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
  return { nonce: b64url(n), ts: Math.floor(now()) };
}

export interface InnerResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** GatewayError is a failure of the transport: the outer request, or a response that is not a valid sealed inner response. */
export class GatewayError extends Error {
  override name = "GatewayError";
  constructor(
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

/** encodeInnerRequest renders the plaintext of a gateway request, with its nonce and time. */
export function encodeInnerRequest(r: InnerRequest, f: Freshness): Uint8Array {
  if (!METHODS.includes(r.method)) throw new GatewayError(`method ${r.method} not allowed`);
  if (!/^\/(api|fhir)\//.test(r.path) || r.path.startsWith(GATEWAY_PATH)) throw new GatewayError("inner path must start with /api/ or /fhir/ and not be the gateway");
  if (!/^[A-Za-z0-9_-]{21}[AQgw]$/.test(f.nonce)) throw new GatewayError(`nonce must be ${NONCE_SIZE} bytes of base64url`);
  if (!Number.isSafeInteger(f.ts) || f.ts <= 0) throw new GatewayError("ts must be integer Unix milliseconds");
  const o: Record<string, unknown> = { method: r.method, path: r.path, headers: { ...(r.headers ?? {}) } };
  if (r.body !== undefined) o.body = b64(r.body);
  o.nonce = f.nonce;
  o.ts = f.ts;
  return utf8(JSON.stringify(o));
}

/** decodeInnerResponse parses the plaintext of a sealed gateway response strictly. */
export function decodeInnerResponse(b: Uint8Array): InnerResponse {
  let v: unknown;
  try {
    v = JSON.parse(fromUTF8(b));
  } catch {
    throw new GatewayError("inner response: not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new GatewayError("inner response: not an object");
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "status" && k !== "headers" && k !== "body") throw new GatewayError(`inner response: unknown member ${JSON.stringify(k.slice(0, 32))}`);
  if (typeof o.status !== "number" || !Number.isInteger(o.status) || o.status < 100 || o.status > 599) throw new GatewayError("inner response: status not an HTTP status");
  const headers: Record<string, string> = {};
  if (o.headers !== undefined && o.headers !== null) {
    if (typeof o.headers !== "object" || Array.isArray(o.headers)) throw new GatewayError("inner response: headers not an object");
    for (const [k, hv] of Object.entries(o.headers as Record<string, unknown>)) {
      if (typeof hv !== "string") throw new GatewayError("inner response: header value not a string");
      headers[k.toLowerCase()] = hv;
    }
  }
  let body: Uint8Array = new Uint8Array(0);
  if (o.body !== undefined && o.body !== null) {
    if (typeof o.body !== "string") throw new GatewayError("inner response: body not a base64 string");
    try {
      body = fromB64(o.body);
    } catch {
      throw new GatewayError("inner response: body not base64");
    }
  }
  return { status: o.status, headers, body };
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** Gateway sends inner requests to one care API, sealed to its attested key. */
export class Gateway {
  readonly #url: string;
  readonly #key: RecipientKey;
  readonly #fetch: Fetch;
  readonly #now: () => number;

  /**
   * careApi is the base URL ("" for the page's origin); key comes from a VERIFIED token
   * only; now is the clock each request's ts is read from (Unix milliseconds).
   */
  constructor(careApi: string, key: RecipientKey, fetchFn: Fetch, now: () => number = Date.now) {
    this.#url = careApi + GATEWAY_PATH;
    this.#key = key;
    this.#fetch = fetchFn;
    this.#now = now;
  }

  /** send seals r with a fresh nonce and the time, posts it, and opens the answer. */
  async send(r: InnerRequest): Promise<InnerResponse> {
    const { body, opener } = await sealRequest(this.#key, CONTEXT, encodeInnerRequest(r, freshness(this.#now)));
    let resp: Response;
    try {
      resp = await this.#fetch(this.#url, {
        method: "POST",
        headers: { "Content-Type": MEDIA_TYPE },
        body: buf(body),
        credentials: "include",
        cache: "no-store",
        redirect: "error", // a redirect would send the sealed body elsewhere; it would not open there, but nothing good follows one
      });
    } catch {
      throw new GatewayError("the care API could not be reached");
    }
    const len = Number(resp.headers.get("Content-Length") ?? "0");
    if (len > MAX_SEALED_BODY) throw new GatewayError(`response of ${len} bytes refused`, resp.status);
    const raw = new Uint8Array(await resp.arrayBuffer());
    if (raw.length > MAX_SEALED_BODY) throw new GatewayError(`response of ${raw.length} bytes refused`, resp.status);
    const ct = (resp.headers.get("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (ct !== MEDIA_TYPE) {
      // Not sealed: the request was refused before it was opened (bad
      // seal, too large, a stale or replayed request), or the answer is
      // not the care API's at all. Its text is not shown: a proxy could
      // write anything there ("call this number", "sign in at…").
      throw new GatewayError(`the care API did not accept the sealed request (HTTP ${resp.status}); its answer was not sealed, so it is not shown`, resp.status);
    }
    let pt: Uint8Array;
    try {
      pt = await opener.open(raw);
    } catch (e) {
      throw new GatewayError(e instanceof SealedError ? e.message : "the sealed response could not be opened", resp.status);
    }
    return decodeInnerResponse(pt);
  }
}

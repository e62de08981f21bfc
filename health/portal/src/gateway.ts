// The care API's sealed gateway, client side: every portal call is an
// "inner request" ({"method","path","headers","body"}) sealed to the care
// API's attested HPKE key and POSTed to /api/sealed; the answer is a sealed
// "inner response" ({"status","headers","body"}). Cookies travel on the
// outer request (credentials: "include"); everything the portal says or
// hears about patients is inside the seal.

import { b64, buf, fromB64, fromUTF8, utf8 } from "./bytes.js";
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

/** encodeInnerRequest renders the plaintext of a gateway request. */
export function encodeInnerRequest(r: InnerRequest): Uint8Array {
  if (!METHODS.includes(r.method)) throw new GatewayError(`method ${r.method} not allowed`);
  if (!/^\/(api|fhir)\//.test(r.path) || r.path.startsWith(GATEWAY_PATH)) throw new GatewayError("inner path must start with /api/ or /fhir/ and not be the gateway");
  const o: Record<string, unknown> = { method: r.method, path: r.path, headers: { ...(r.headers ?? {}) } };
  if (r.body !== undefined) o.body = b64(r.body);
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

  /** careApi is the base URL ("" for the page's origin); key comes from a VERIFIED token only. */
  constructor(careApi: string, key: RecipientKey, fetchFn: Fetch) {
    this.#url = careApi + GATEWAY_PATH;
    this.#key = key;
    this.#fetch = fetchFn;
  }

  /** send seals r, posts it, and opens the answer. */
  async send(r: InnerRequest): Promise<InnerResponse> {
    const { body, opener } = await sealRequest(this.#key, CONTEXT, encodeInnerRequest(r));
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
      // A refusal before the request was opened (bad seal, too large,
      // plain request refused): plain text, and nothing secret in it.
      throw new GatewayError(`the care API refused the sealed request (HTTP ${resp.status}): ${plainReason(raw)}`, resp.status);
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

function plainReason(raw: Uint8Array): string {
  let s: string;
  try {
    s = fromUTF8(raw.subarray(0, 512));
  } catch {
    return "(no readable reason)";
  }
  try {
    const v = JSON.parse(s) as Record<string, unknown>;
    if (typeof v.error === "string") return v.error.slice(0, 200);
    if (typeof v.message === "string") return v.message.slice(0, 200);
  } catch {
    // not JSON: show the text
  }
  return s.slice(0, 200).trim() || "(no reason given)";
}

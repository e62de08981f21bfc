// TEST ONLY: a fake care API behind a fake fetch, speaking the sealed
// gateway contract (POST /api/sealed, inner request/response JSON), with
// just enough behaviour (login, CSRF, patients, images, diagnose, reports)
// to drive the portal's client end to end without the Go server.

import { b64, buf, fromB64, fromB64url, fromUTF8, utf8 } from "../src/bytes.js";
import { MEDIA_TYPE } from "../src/sealed.js";
import { type SealedServer } from "./server.js";

type Obj = Record<string, any>;

export interface FakeCareOptions {
  /** tamper flips a byte of every sealed response. */
  tamper?: boolean;
  /** plainRefusal answers every request with a plain 400 before opening. */
  plainRefusal?: boolean;
  /** attestation is GET /api/attestation's body, or makes it (a fresh token per request). */
  attestation?: Obj | (() => Promise<Obj>);
  jwks?: Obj;
  config?: Obj;
  /** now is the fake's clock for checking ts (Unix ms); default Date.now. */
  now?: () => number;
}

/** FRESH_WINDOW_MS is how far an inner request's ts may be from the fake's clock, either way. */
export const FRESH_WINDOW_MS = 5 * 60 * 1000;

export class FakeCare {
  readonly seen: Obj[] = []; // inner requests as the server decoded them (and routed)
  readonly refused: string[] = []; // why opened inner requests were refused before routing
  private readonly nonces = new Set<string>();
  readonly outer: { url: string; credentials?: RequestCredentials; contentType: string | null; body: Uint8Array }[] = [];
  private readonly patients: Obj[] = [];
  private readonly images = new Map<string, Obj>();
  private readonly reports: Obj[] = [];
  private session = "";
  private csrf = "";
  constructor(
    private readonly srv: SealedServer,
    private readonly opts: FakeCareOptions = {},
  ) {}

  /** fetch is the fake network. */
  fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const path = new URL(url, "https://portal.example").pathname;
    if (init.method === "GET") {
      const att = this.opts.attestation;
      const doc = path === "/api/attestation" ? (typeof att === "function" ? await att() : att) : path === "/v1/certs" ? this.opts.jwks : path === "/config.json" || url === "config.json" ? this.opts.config : undefined;
      return doc === undefined ? new Response("not found", { status: 404 }) : Response.json(doc);
    }
    if (path !== "/api/sealed") return new Response("not found", { status: 404 });
    const body = new Uint8Array(init.body as Uint8Array);
    this.outer.push({ url, credentials: init.credentials, contentType: new Headers(init.headers).get("Content-Type"), body });
    if (this.opts.plainRefusal) return Response.json({ error: "the sealed request body could not be opened" }, { status: 400 });
    let opened;
    try {
      opened = await this.srv.open(body, "POST /api/sealed");
    } catch {
      return Response.json({ error: "the sealed request body could not be opened" }, { status: 400 });
    }
    const inner = JSON.parse(fromUTF8(opened.plaintext)) as Obj;
    // Replay protection as the care API does it: a nonce of 16 bytes,
    // never seen before, and a ts within the window. Refusals are sealed
    // (the request opened, so there is a key to answer under).
    const why = this.stale(inner);
    let status: number, out: unknown;
    if (why !== "") {
      this.refused.push(why);
      [status, out] = [why === "replayed nonce" ? 409 : 400, { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "invalid", diagnostics: why }] }];
    } else {
      this.seen.push(inner);
      [status, out] = this.route(inner);
    }
    const plain = utf8(JSON.stringify({ status, headers: { "Content-Type": "application/fhir+json" }, body: out === undefined ? undefined : b64(utf8(JSON.stringify(out))) }));
    const sealed = await opened.responder.seal(plain);
    if (this.opts.tamper) sealed[sealed.length - 1]! ^= 1;
    return new Response(buf(sealed), { status: 200, headers: { "Content-Type": MEDIA_TYPE } });
  };

  /** stale returns why an inner request's nonce or ts is refused, or "" (and then remembers the nonce). */
  private stale(r: Obj): string {
    if (typeof r.nonce !== "string" || !/^[A-Za-z0-9_-]{22}$/.test(r.nonce)) return "nonce missing or not 22 characters of base64url";
    let n: Uint8Array;
    try {
      n = fromB64url(r.nonce);
    } catch {
      return "nonce not canonical base64url";
    }
    if (n.length !== 16) return "nonce not 16 bytes";
    if (typeof r.ts !== "number" || !Number.isSafeInteger(r.ts)) return "ts missing or not integer milliseconds";
    if (Math.abs(r.ts - (this.opts.now ?? Date.now)()) > FRESH_WINDOW_MS) return "ts outside the window";
    if (this.nonces.has(r.nonce)) return "replayed nonce";
    this.nonces.add(r.nonce);
    return "";
  }

  private route(r: Obj): [number, unknown] {
    const body = r.body === undefined ? undefined : (JSON.parse(fromUTF8(fromB64(r.body))) as Obj);
    const oo = (status: number, diagnostics: string): [number, unknown] => [status, { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "invalid", diagnostics }] }];
    if (r.method === "POST" && r.path === "/api/login") {
      if (body?.username !== "alice" || body?.password !== "correct horse") return oo(401, "invalid credentials");
      this.session = "s1";
      this.csrf = "csrf-token-1";
      return [200, { user: "alice", role: "clinician", csrf: this.csrf }];
    }
    if (this.session === "") return oo(401, "not signed in");
    if (r.headers?.["X-CSRF-Token"] !== this.csrf) return oo(403, "CSRF token missing or wrong");
    let m: RegExpExecArray | null;
    if (r.method === "POST" && r.path === "/api/logout") {
      this.session = "";
      return [204, undefined];
    }
    if (r.method === "GET" && r.path === "/fhir/Patient") {
      return [200, { resourceType: "Bundle", type: "searchset", entry: this.patients.map((p) => ({ resource: p })) }];
    }
    if (r.method === "POST" && r.path === "/fhir/Patient") {
      if (body?.resourceType !== "Patient" || !/^\d{4}-\d{2}-\d{2}$/.test(body.birthDate ?? "")) return oo(400, "Patient.birthDate: invalid date");
      const p = { ...body, id: "p" + (this.patients.length + 1) };
      this.patients.push(p);
      return [201, p];
    }
    if (r.method === "POST" && (m = /^\/api\/patients\/([^/]+)\/images$/.exec(r.path))) {
      const id = "img" + (this.images.size + 1);
      this.images.set(id, { patient: m[1], contentType: body?.contentType, size: fromB64(body?.data ?? "").length });
      return [201, { imageId: id }];
    }
    if (r.method === "POST" && (m = /^\/api\/patients\/([^/]+)\/diagnose$/.exec(r.path))) {
      if (!this.images.has(body?.imageId)) return oo(404, "no such image");
      const rep = {
        resourceType: "DiagnosticReport",
        id: "r" + (this.reports.length + 1),
        status: "final",
        subject: { reference: "Patient/" + m[1] },
        issued: "2026-05-01T12:02:00Z",
        conclusion: "pneumonia",
        conclusionCode: [{ coding: [{ system: "urn:cofre:finding", code: "pneumonia", display: "Pneumonia" }] }],
        extension: [
          { url: "urn:cofre:probabilities", extension: [{ url: "normal", valueDecimal: 0.1 }, { url: "pneumonia", valueDecimal: 0.85 }, { url: "effusion", valueDecimal: 0.05 }] },
          { url: "urn:cofre:model-sha256", valueString: "00".repeat(32) },
        ],
      };
      this.reports.push(rep);
      return [200, rep];
    }
    if (r.method === "GET" && r.path.startsWith("/fhir/DiagnosticReport?subject=")) {
      const subj = decodeURIComponent(r.path.split("=")[1]!);
      return [200, { resourceType: "Bundle", type: "searchset", entry: this.reports.filter((x) => x.subject.reference === subj).map((x) => ({ resource: x })) }];
    }
    return oo(404, "no route");
  }
}

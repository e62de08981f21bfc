// The care API's portal-facing calls, each an inner request through the
// sealed gateway. Every call after sign-in carries the X-CSRF-Token from the
// login answer. Errors become ApiError with the OperationOutcome's
// diagnostics when the care API sent one.

import { b64, fromUTF8, utf8 } from "./bytes.js";
import { type ReportView, bundleResources, outcomeMessage, type PatientRow, patientRow, reportView } from "./fhir.js";
import { type Gateway, type InnerResponse, type Method } from "./gateway.js";

/** ApiError is an answer other than the one expected; message is for the user. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  readonly user: string;
  readonly role: string;
}

const JSON_TYPE = "application/json";
const FHIR_TYPE = "application/fhir+json";

function parseJSON(r: InnerResponse): unknown {
  if (r.body.length === 0) return undefined;
  try {
    return JSON.parse(fromUTF8(r.body));
  } catch {
    return undefined;
  }
}

/** CareAPI is one signed-in (or signing-in) user's client. */
export class CareAPI {
  readonly #gw: Gateway;
  #csrf = "";

  constructor(gw: Gateway) {
    this.#gw = gw;
  }

  async #call(method: Method, path: string, body: unknown, want: number[], contentType = JSON_TYPE): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = contentType;
    // Every inner request carries it, reads too: the session cookie travels
    // on the outer request, where a TLS-terminating proxy could read it; the
    // CSRF token travels sealed, so only this page can use the session.
    if (this.#csrf !== "") headers["X-CSRF-Token"] = this.#csrf;
    const r = await this.#gw.send({ method, path, headers, ...(body !== undefined ? { body: utf8(JSON.stringify(body)) } : {}) });
    const v = parseJSON(r);
    if (!want.includes(r.status)) {
      const msg = outcomeMessage(v) ?? defaultMessage(r.status);
      throw new ApiError(r.status, msg);
    }
    return v;
  }

  /** login signs in; the session cookie is set on the outer response. */
  async login(username: string, password: string): Promise<Session> {
    const v = (await this.#call("POST", "/api/login", { username, password }, [200])) as Record<string, unknown> | undefined;
    if (typeof v?.csrf !== "string" || v.csrf === "") throw new ApiError(200, "the care API's login answer has no CSRF token");
    this.#csrf = v.csrf;
    return { user: typeof v.user === "string" ? v.user : username, role: typeof v.role === "string" ? v.role : "" };
  }

  async logout(): Promise<void> {
    try {
      await this.#call("POST", "/api/logout", undefined, [200, 204]);
    } finally {
      this.#csrf = "";
    }
  }

  async listPatients(): Promise<PatientRow[]> {
    return bundleResources(await this.#call("GET", "/fhir/Patient", undefined, [200]), "Patient").map(patientRow);
  }

  async createPatient(patient: object): Promise<PatientRow> {
    return patientRow(await this.#call("POST", "/fhir/Patient", patient, [201, 200], FHIR_TYPE));
  }

  async uploadImage(patientID: string, contentType: "image/png" | "application/dicom", data: Uint8Array): Promise<string> {
    const v = (await this.#call("POST", `/api/patients/${encodeURIComponent(patientID)}/images`, { contentType, data: b64(data) }, [201, 200])) as Record<string, unknown> | undefined;
    if (typeof v?.imageId !== "string" || v.imageId === "") throw new ApiError(201, "the care API's answer has no imageId");
    return v.imageId;
  }

  async diagnose(patientID: string, imageId: string): Promise<ReportView> {
    return reportView(await this.#call("POST", `/api/patients/${encodeURIComponent(patientID)}/diagnose`, { imageId }, [200, 201]));
  }

  async listReports(patientID: string): Promise<ReportView[]> {
    const q = encodeURIComponent("Patient/" + patientID);
    return bundleResources(await this.#call("GET", `/fhir/DiagnosticReport?subject=${q}`, undefined, [200]), "DiagnosticReport").map(reportView);
  }
}

function defaultMessage(status: number): string {
  switch (status) {
    case 400:
      return "The care API refused the request as malformed.";
    case 401:
      return "Sign-in failed or the session expired: sign in again.";
    case 403:
      return "Not allowed for this account.";
    case 404:
      return "Not found.";
    case 413:
      return "Too large.";
    case 429:
      return "Too many attempts: wait a moment.";
  }
  return `The care API answered HTTP ${status}.`;
}

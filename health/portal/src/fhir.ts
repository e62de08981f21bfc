// FHIR R4 JSON the portal builds (Patient) and reads (Bundle, Patient,
// DiagnosticReport, OperationOutcome). Reading is defensive: the care API is
// attested, but a missing member must give an empty cell, not a crash.
// Not here: validation of FHIR in general (the care API does it; the
// portal only checks its own form before sending).

import { fromB64, fromUTF8 } from "./bytes.js";
import { MAX_MRN_LENGTH, MAX_NAME_LENGTH } from "./limits.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** MRN_SYSTEM is the identifier system of the medical record number. */
export const MRN_SYSTEM = "urn:cofre:mrn";

export const GENDERS = ["female", "male", "other", "unknown"] as const;

/** PatientInput is the "new patient" form. */
export interface PatientInput {
  given: string;
  family: string;
  birthDate: string;
  gender: string;
  mrn: string;
}

/** validatePatient returns a message per invalid field (empty when valid). today is YYYY-MM-DD. */
export function validatePatient(p: PatientInput, today: string): Partial<Record<keyof PatientInput, string>> {
  const errs: Partial<Record<keyof PatientInput, string>> = {};
  const name = (v: string) => v.trim() !== "" && v.length <= MAX_NAME_LENGTH && !/[\u0000-\u001f<>]/.test(v);
  if (!name(p.given)) errs.given = `Enter the given name (1 to ${MAX_NAME_LENGTH} characters, no < or >).`;
  if (!name(p.family)) errs.family = `Enter the family name (1 to ${MAX_NAME_LENGTH} characters, no < or >).`;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(p.birthDate);
  const real = m !== null && (() => {
    const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!));
    return d.getUTCFullYear() === +m[1]! && d.getUTCMonth() === +m[2]! - 1 && d.getUTCDate() === +m[3]!;
  })();
  if (!real) errs.birthDate = "Enter the birth date as YYYY-MM-DD.";
  else if (p.birthDate > today || p.birthDate < "1900-01-01") errs.birthDate = "The birth date must be between 1900-01-01 and today.";
  if (!(GENDERS as readonly string[]).includes(p.gender)) errs.gender = "Choose a gender.";
  if (!/^[A-Za-z0-9-]+$/.test(p.mrn) || p.mrn.length > MAX_MRN_LENGTH) errs.mrn = `Enter the MRN (letters, digits and -, at most ${MAX_MRN_LENGTH}).`;
  return errs;
}

/** toPatient builds the FHIR Patient to POST. */
export function toPatient(p: PatientInput): Obj {
  return {
    resourceType: "Patient",
    identifier: [{ system: MRN_SYSTEM, value: p.mrn }],
    name: [{ family: p.family.trim(), given: [p.given.trim()] }],
    gender: p.gender,
    birthDate: p.birthDate,
  };
}

/** PatientRow is what the patient list shows. */
export interface PatientRow {
  id: string;
  name: string;
  birthDate: string;
  gender: string;
  mrn: string;
}

/** patientRow reads a Patient resource. */
export function patientRow(r: unknown): PatientRow {
  const o = isObj(r) ? r : {};
  const n = arr(o.name)[0];
  const no = isObj(n) ? n : {};
  const given = arr(no.given).map(str).filter(Boolean).join(" ");
  const id0 = arr(o.identifier)[0];
  return {
    id: str(o.id),
    name: [given, str(no.family)].filter(Boolean).join(" ") || str(no.text),
    birthDate: str(o.birthDate),
    gender: str(o.gender),
    mrn: isObj(id0) ? str(id0.value) : "",
  };
}

/** bundleResources returns the entries' resources of type resourceType. */
export function bundleResources(bundle: unknown, resourceType: string): Obj[] {
  if (!isObj(bundle) || bundle.resourceType !== "Bundle") return [];
  return arr(bundle.entry)
    .map((e) => (isObj(e) ? e.resource : undefined))
    .filter((r): r is Obj => isObj(r) && r.resourceType === resourceType);
}

/** Finding is one label of the model's output with its probability (0 to 1). */
export interface Finding {
  label: string;
  probability: number;
}

/** ReportView is what the diagnosis panel shows. */
export interface ReportView {
  id: string;
  conclusion: string;
  /** display is conclusionCode[0].coding[0].display (or the conclusion). */
  display: string;
  issued: string;
  findings: Finding[];
  /** model and modelSHA256 come from the care API's diagnostic-model(-sha256) extensions. */
  model: string;
  modelSHA256: string;
}

function findingsFromJSON(v: unknown): Finding[] {
  const out: Finding[] = [];
  const push = (label: unknown, p: unknown) => {
    if (typeof label === "string" && typeof p === "number" && Number.isFinite(p)) out.push({ label, probability: p });
  };
  if (Array.isArray(v)) {
    for (const e of v) if (isObj(e)) push(e.label ?? e.finding ?? e.name, e.probability ?? e.value);
  } else if (isObj(v)) {
    if (Array.isArray(v.labels) && Array.isArray(v.probabilities)) v.labels.forEach((l, i) => push(l, (v.probabilities as unknown[])[i]));
    else if (Array.isArray(v.findings)) return findingsFromJSON(v.findings);
    else for (const [k, p] of Object.entries(v)) push(k, p);
  }
  return out;
}

function findingsFromExtensions(exts: unknown[]): Finding[] {
  const out: Finding[] = [];
  for (const e of exts) {
    if (!isObj(e) || !/probabilit|finding/i.test(str(e.url))) continue;
    // The care API writes one extension per finding (url …/diagnostic-finding)
    // holding {url:"label", valueString} + {url:"probability", valueDecimal}.
    // Also read: one extension holding several such pairs, or one
    // sub-extension per label {url: label, valueDecimal: p}.
    const subs = arr(e.extension).filter(isObj);
    let pending: string | undefined;
    for (const s of subs) {
      if (s.url === "label" || s.url === "finding") pending = str(s.valueString);
      else if (s.url === "probability" && pending !== undefined && typeof s.valueDecimal === "number") {
        out.push({ label: pending, probability: s.valueDecimal });
        pending = undefined;
      } else if (typeof s.valueDecimal === "number") out.push({ label: str(s.url), probability: s.valueDecimal });
    }
    if (typeof e.valueString === "string") {
      try {
        out.push(...findingsFromJSON(JSON.parse(e.valueString)));
      } catch {
        // not JSON: ignored
      }
    }
  }
  return out;
}

/** reportView reads a DiagnosticReport: conclusion, code display, issued and the probabilities from an extension or a JSON presentedForm. */
export function reportView(r: unknown): ReportView {
  const o = isObj(r) ? r : {};
  const cc = arr(o.conclusionCode)[0];
  const coding = isObj(cc) ? arr(cc.coding)[0] : undefined;
  const display = (isObj(coding) ? str(coding.display) : "") || (isObj(cc) ? str(cc.text) : "") || str(o.conclusion);
  let findings = findingsFromExtensions(arr(o.extension));
  if (findings.length === 0) {
    for (const f of arr(o.presentedForm)) {
      if (!isObj(f) || !/json/i.test(str(f.contentType)) || typeof f.data !== "string") continue;
      try {
        findings = findingsFromJSON(JSON.parse(fromUTF8(fromB64(f.data))));
      } catch {
        // an unreadable attachment shows no probabilities
      }
      if (findings.length > 0) break;
    }
  }
  findings.sort((a, b) => b.probability - a.probability);
  let model = "";
  let modelSHA256 = "";
  for (const e of arr(o.extension)) {
    if (!isObj(e)) continue;
    if (/sha-?256/i.test(str(e.url))) modelSHA256 = str(e.valueString);
    else if (/diagnostic-model$/.test(str(e.url))) model = str(e.valueString);
  }
  return { id: str(o.id), conclusion: str(o.conclusion), display, issued: str(o.issued), findings, model, modelSHA256 };
}

/**
 * outcomeMessage returns the message of an error answer: an OperationOutcome's issues'
 * diagnostics (or details.text, or code), joined with "; ", or the "error" string of the
 * care API's plain JSON errors ({"error": "…"} on /api/ paths).
 */
export function outcomeMessage(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  if (v.resourceType !== "OperationOutcome") return typeof v.error === "string" && v.error !== "" ? v.error : undefined;
  const msgs = arr(v.issue)
    .filter(isObj)
    .map((i) => str(i.diagnostics) || (isObj(i.details) ? str(i.details.text) : "") || str(i.code))
    .filter(Boolean);
  return msgs.length > 0 ? msgs.join("; ") : undefined;
}

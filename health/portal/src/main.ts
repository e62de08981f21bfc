// The portal's user interface: plain DOM, no framework. It attests the care
// API first and keeps every form disabled until the token verifies; every
// call after that goes through the sealed gateway (api.ts). Patient data
// is only ever put into text nodes (textContent), never parsed as HTML.

import { ApiError, CareAPI, type Session } from "./api.js";
import { AttestationError, Attestor, describeFailure, loadConfig } from "./attestation.js";
import { type PatientInput, type PatientRow, type ReportView, toPatient, validatePatient } from "./fhir.js";
import { GatewayError } from "./gateway.js";
import { imageKind } from "./image.js";
import { MAX_IMAGE_SIZE } from "./limits.js";
import { TokenError, type Verified } from "./token.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error("portal: missing element #" + id);
  return e as T;
};

const fetchFn = (url: string, init: RequestInit) => fetch(url, init);
const now = () => new Date();

let attestor: Attestor | undefined;
let session: Session | undefined;
let current: PatientRow | undefined;
let uploadedImage: string | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

function show(id: string, on: boolean): void {
  $(id).hidden = !on;
}

function setError(msg: string): void {
  const e = $("error");
  e.textContent = msg;
  e.hidden = msg === "";
}

function errorText(e: unknown): string {
  if (e instanceof ApiError || e instanceof GatewayError) return e.message;
  if (e instanceof Error) return "Unexpected error: " + e.message;
  return "Unexpected error.";
}

/** lockAll disables every form: nothing may be sent without a verified token. */
function lockAll(locked: boolean): void {
  for (const f of Array.from(document.querySelectorAll<HTMLFieldSetElement>("fieldset[data-needs-attestation]"))) f.disabled = locked;
}

// --- attestation ---

function renderAttestation(v: Verified): void {
  const st = $("attestation-status");
  st.textContent = "verified";
  st.className = "status ok";
  const dl = $("attestation-details");
  dl.replaceChildren();
  const row = (k: string, val: string) => {
    dl.append(el("dt", k), el("dd", val));
  };
  row("Issuer", v.issuer);
  if (v.service !== "") row("Service", v.service);
  row("TEE", v.tee);
  row("Measurement", v.measurement);
  row("Status", v.submods.map((s) => `${s.name}: ${s.status}`).join(", "));
  row("Expires", v.expiry.toISOString());
  row("Signing key", `${v.keyID} (${v.algorithm})`);
  row("Encryption key", `${v.key.kid} (${v.key.kem === 0x10 ? "P-256" : "X25519"})`);
  $("attestation-reasons").replaceChildren();
  show("simulation-banner", v.simulation);
}

function renderRefusal(e: unknown): void {
  const reasons = describeFailure(e);
  const st = $("attestation-status");
  // The status names the failed checks; the list below gives expected and actual.
  const checks = e instanceof TokenError ? e.refusals.map((r) => r.check) : e instanceof AttestationError ? [e.step] : ["error"];
  st.textContent = "refused: " + checks.join(", ");
  st.className = "status bad";
  $("attestation-details").replaceChildren();
  const ul = $("attestation-reasons");
  ul.replaceChildren(...reasons.map((r) => el("li", r)));
  show("simulation-banner", false);
  setError("The care API's attestation was refused: no patient data will be sent. " + (e instanceof AttestationError ? "" : "See the attestation panel for the failed checks."));
}

async function runAttestation(): Promise<boolean> {
  lockAll(true);
  try {
    attestor ??= new Attestor(fetchFn, await loadConfig(fetchFn), now);
    renderAttestation(await attestor.refresh());
    lockAll(false);
    return true;
  } catch (e) {
    renderRefusal(e);
    return false;
  }
}

/** client returns the API client; an expired token is fetched and verified again first, and a refusal locks the forms. */
async function client(): Promise<CareAPI> {
  if (attestor === undefined) throw new GatewayError("the care API's attestation is not valid: nothing was sent");
  if (attestor.fresh()) return attestor.client();
  if (!(await runAttestation())) throw new GatewayError("the care API's attestation is no longer valid: nothing was sent");
  return attestor.client();
}

// --- sign-in ---

async function onSignIn(ev: Event): Promise<void> {
  ev.preventDefault();
  setError("");
  const user = $<HTMLInputElement>("username").value.trim();
  const pass = $<HTMLInputElement>("password").value;
  if (user === "" || pass === "") {
    setError("Enter your username and password.");
    return;
  }
  try {
    session = await (await client()).login(user, pass);
    $<HTMLInputElement>("password").value = "";
    $("whoami").textContent = `${session.user} (${session.role})`;
    show("signin-section", false);
    show("app-section", true);
    await showPatients();
  } catch (e) {
    setError(e instanceof ApiError && e.status === 401 ? "Sign-in failed: wrong username or password." : errorText(e));
  }
}

async function onSignOut(): Promise<void> {
  try {
    await (await client()).logout();
  } catch {
    // signed out locally whatever the server says
  }
  session = undefined;
  current = undefined;
  show("app-section", false);
  show("signin-section", true);
  location.hash = "";
}

// --- patients ---

async function showPatients(): Promise<void> {
  current = undefined;
  show("patient-section", false);
  show("patients-section", true);
  const tbody = $("patient-rows");
  try {
    const rows = await (await client()).listPatients();
    tbody.replaceChildren(
      ...rows.map((p) => {
        const tr = el("tr");
        const a = el("a", p.name || "(no name)", "patient-row");
        a.href = "#patient/" + encodeURIComponent(p.id);
        a.dataset.testid = "patient-row";
        a.dataset.patientId = p.id;
        a.addEventListener("click", (ev) => {
          ev.preventDefault();
          void openPatient(p);
        });
        const name = el("td");
        name.append(a);
        tr.append(name, el("td", p.birthDate), el("td", p.gender), el("td", p.mrn));
        return tr;
      }),
    );
    show("no-patients", rows.length === 0);
  } catch (e) {
    setError(errorText(e));
  }
}

function fieldError(id: string, msg: string | undefined): void {
  const input = $(id);
  const out = $(id + "-error");
  out.textContent = msg ?? "";
  if (msg) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

async function onCreatePatient(ev: Event): Promise<void> {
  ev.preventDefault();
  setError("");
  const input: PatientInput = {
    given: $<HTMLInputElement>("given").value,
    family: $<HTMLInputElement>("family").value,
    birthDate: $<HTMLInputElement>("birth-date").value,
    gender: $<HTMLSelectElement>("gender").value,
    mrn: $<HTMLInputElement>("mrn").value.trim(),
  };
  const errs = validatePatient(input, new Date().toISOString().slice(0, 10));
  fieldError("given", errs.given);
  fieldError("family", errs.family);
  fieldError("birth-date", errs.birthDate);
  fieldError("gender", errs.gender);
  fieldError("mrn", errs.mrn);
  if (Object.keys(errs).length > 0) return;
  try {
    await (await client()).createPatient(toPatient(input));
    $<HTMLFormElement>("new-patient").reset();
    $("create-status").textContent = "Patient created.";
    await showPatients();
  } catch (e) {
    setError(errorText(e));
  }
}

// --- one patient: image, diagnosis ---

async function openPatient(p: PatientRow): Promise<void> {
  setError("");
  current = p;
  uploadedImage = undefined;
  $("patient-name").textContent = p.name || "(no name)";
  $("patient-meta").textContent = `Born ${p.birthDate} · ${p.gender} · MRN ${p.mrn}`;
  $<HTMLInputElement>("image-file").value = "";
  $<HTMLImageElement>("preview").removeAttribute("src");
  show("preview", false);
  $<HTMLButtonElement>("diagnose").disabled = true;
  $("upload-status").textContent = "";
  show("diagnosis", false);
  show("patients-section", false);
  show("patient-section", true);
  $("patient-name").focus();
  try {
    const reports = await (await client()).listReports(p.id);
    $("report-list").replaceChildren(...reports.map((r) => el("li", `${r.issued}: ${r.display || r.conclusion}`)));
  } catch (e) {
    setError(errorText(e));
  }
}

function onFileChosen(): void {
  const f = $<HTMLInputElement>("image-file").files?.[0];
  const img = $<HTMLImageElement>("preview");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.removeAttribute("src");
  show("preview", false);
  if (f !== undefined && (f.type === "image/png" || /\.png$/i.test(f.name))) {
    img.src = URL.createObjectURL(f);
    show("preview", true);
  }
}

async function onUpload(ev: Event): Promise<void> {
  ev.preventDefault();
  setError("");
  const f = $<HTMLInputElement>("image-file").files?.[0];
  if (current === undefined) return;
  if (f === undefined) {
    setError("Choose a PNG or DICOM (.dcm) file first.");
    return;
  }
  if (f.size > MAX_IMAGE_SIZE) {
    setError(`The image is larger than ${MAX_IMAGE_SIZE >> 20} MiB.`);
    return;
  }
  const data = new Uint8Array(await f.arrayBuffer());
  const kind = imageKind(f.name, f.type, data);
  if (kind === undefined) {
    setError("This file is neither a PNG nor a DICOM Part 10 file.");
    return;
  }
  $("upload-status").textContent = "Uploading (sealed)…";
  try {
    uploadedImage = await (await client()).uploadImage(current.id, kind, data);
    $("upload-status").textContent = "Image uploaded.";
    $<HTMLButtonElement>("diagnose").disabled = false;
  } catch (e) {
    $("upload-status").textContent = "";
    setError(errorText(e));
  }
}

function renderDiagnosis(r: ReportView): void {
  $("diagnosis-display").textContent = r.display || r.conclusion || "(no finding)";
  $("diagnosis-conclusion").textContent = r.conclusion;
  $("diagnosis-issued").textContent = r.issued;
  const tbody = $("diagnosis-findings");
  tbody.replaceChildren(
    ...r.findings.map((f) => {
      const tr = el("tr");
      const pct = (f.probability * 100).toFixed(1) + " %";
      const meter = el("meter");
      meter.min = 0;
      meter.max = 1;
      meter.value = f.probability;
      meter.setAttribute("aria-label", `${f.label} ${pct}`);
      const bar = el("td");
      bar.append(meter);
      tr.append(el("td", f.label), el("td", pct), bar);
      return tr;
    }),
  );
  $("diagnosis-model").textContent = [r.model && "Model: " + r.model, r.modelSHA256 && "SHA-256: " + r.modelSHA256].filter(Boolean).join(" · ");
  show("diagnosis", true);
}

async function onDiagnose(): Promise<void> {
  setError("");
  if (current === undefined || uploadedImage === undefined) return;
  const btn = $<HTMLButtonElement>("diagnose");
  btn.disabled = true;
  $("upload-status").textContent = "Diagnosing…";
  try {
    renderDiagnosis(await (await client()).diagnose(current.id, uploadedImage));
    $("upload-status").textContent = "";
    const reports = await (await client()).listReports(current.id);
    $("report-list").replaceChildren(...reports.map((r) => el("li", `${r.issued}: ${r.display || r.conclusion}`)));
  } catch (e) {
    $("upload-status").textContent = "";
    setError(errorText(e));
  } finally {
    btn.disabled = false;
  }
}

function init(): void {
  $("signin-form").addEventListener("submit", (e) => void onSignIn(e));
  $("sign-out").addEventListener("click", () => void onSignOut());
  $("new-patient").addEventListener("submit", (e) => void onCreatePatient(e));
  $("back").addEventListener("click", () => void showPatients());
  $("image-file").addEventListener("change", onFileChosen);
  $("upload-form").addEventListener("submit", (e) => void onUpload(e));
  $("diagnose").addEventListener("click", () => void onDiagnose());
  $("recheck").addEventListener("click", () => void runAttestation());
  void runAttestation();
}

init();

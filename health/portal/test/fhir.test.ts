import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { b64, utf8 } from "../src/bytes.js";
import { type PatientInput, bundleResources, outcomeMessage, patientRow, reportView, toPatient, validatePatient } from "../src/fhir.js";

const ok: PatientInput = { given: "Ada", family: "Lovelace", birthDate: "1955-12-10", gender: "female", mrn: "MRN-0001" };
const TODAY = "2026-05-01";

describe("patient form", () => {
  it("accepts a valid patient and builds FHIR Patient JSON", () => {
    assert.deepEqual(validatePatient(ok, TODAY), {});
    assert.deepEqual(toPatient({ ...ok, given: " Ada " }), {
      resourceType: "Patient",
      identifier: [{ system: "urn:cofre:mrn", value: "MRN-0001" }],
      name: [{ family: "Lovelace", given: ["Ada"] }],
      gender: "female",
      birthDate: "1955-12-10",
    });
  });
  const bad: [string, Partial<PatientInput>, keyof PatientInput][] = [
    ["empty given name", { given: "  " }, "given"],
    ["markup in a name", { family: "<b>x</b>" }, "family"],
    ["a long name", { family: "x".repeat(101) }, "family"],
    ["a non-date", { birthDate: "10/12/1815" }, "birthDate"],
    ["an impossible date", { birthDate: "2001-02-30" }, "birthDate"],
    ["a future date", { birthDate: "2027-01-01" }, "birthDate"],
    ["before 1900", { birthDate: "1899-12-31" }, "birthDate"],
    ["no gender", { gender: "" }, "gender"],
    ["an unknown gender", { gender: "robot" }, "gender"],
    ["an empty MRN", { mrn: "" }, "mrn"],
    ["an MRN with spaces", { mrn: "MRN 1" }, "mrn"],
  ];
  for (const [name, over, field] of bad) {
    it(`flags ${name}`, () => {
      assert.deepEqual(Object.keys(validatePatient({ ...ok, ...over }, TODAY)), [field]);
    });
  }
});

describe("reading FHIR", () => {
  it("reads a searchset bundle of patients, skipping other resources", () => {
    const b = { resourceType: "Bundle", type: "searchset", entry: [{ resource: { ...toPatient(ok), id: "p1" } }, { resource: { resourceType: "Observation" } }, {}] };
    assert.deepEqual(bundleResources(b, "Patient").map(patientRow), [{ id: "p1", name: "Ada Lovelace", birthDate: "1955-12-10", gender: "female", mrn: "MRN-0001" }]);
    assert.deepEqual(bundleResources({ resourceType: "Patient" }, "Patient"), []);
    assert.deepEqual(patientRow(null), { id: "", name: "", birthDate: "", gender: "", mrn: "" });
  });
  const report = { resourceType: "DiagnosticReport", id: "r1", issued: "2026-05-01T12:00:00Z", conclusion: "effusion", conclusionCode: [{ coding: [{ display: "Pleural effusion" }] }] };
  const shapes: [string, object][] = [
    ["the care API's diagnostic-finding extensions", { extension: [
      { url: "https://cofre.cc/fhir/StructureDefinition/diagnostic-model", valueString: "chest" },
      { url: "https://cofre.cc/fhir/StructureDefinition/diagnostic-finding", extension: [{ url: "label", valueString: "normal" }, { url: "probability", valueDecimal: 0.2 }] },
      { url: "https://cofre.cc/fhir/StructureDefinition/diagnostic-finding", extension: [{ url: "label", valueString: "effusion" }, { url: "probability", valueDecimal: 0.8 }] },
    ] }],
    ["nested extension per label", { extension: [{ url: "urn:cofre:probabilities", extension: [{ url: "normal", valueDecimal: 0.2 }, { url: "effusion", valueDecimal: 0.8 }] }] }],
    ["label/probability pairs", { extension: [{ url: "https://cofre.example/fhir/probabilities", extension: [{ url: "label", valueString: "normal" }, { url: "probability", valueDecimal: 0.2 }, { url: "label", valueString: "effusion" }, { url: "probability", valueDecimal: 0.8 }] }] }],
    ["JSON valueString", { extension: [{ url: "probabilities", valueString: '{"normal":0.2,"effusion":0.8}' }] }],
    ["presentedForm labels/probabilities", { presentedForm: [{ contentType: "application/json", data: b64(utf8('{"labels":["normal","effusion"],"probabilities":[0.2,0.8]}')) }] }],
    ["presentedForm array", { presentedForm: [{ contentType: "application/json", data: b64(utf8('[{"label":"normal","probability":0.2},{"label":"effusion","probability":0.8}]')) }] }],
  ];
  for (const [name, extra] of shapes) {
    it(`reads probabilities from ${name}`, () => {
      const v = reportView({ ...report, ...extra });
      assert.equal(v.display, "Pleural effusion");
      assert.deepEqual(v.findings, [{ label: "effusion", probability: 0.8 }, { label: "normal", probability: 0.2 }]);
    });
  }
  it("shows no probabilities from an unreadable attachment, and falls back to the conclusion", () => {
    const v = reportView({ conclusion: "normal", presentedForm: [{ contentType: "application/json", data: "!!" }] });
    assert.deepEqual(v.findings, []);
    assert.equal(v.display, "normal");
  });
  it("reads OperationOutcome diagnostics", () => {
    assert.equal(outcomeMessage({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "invalid", diagnostics: "Patient.birthDate: invalid" }] }), "Patient.birthDate: invalid");
    assert.equal(outcomeMessage({ resourceType: "OperationOutcome", issue: [{ code: "forbidden" }] }), "forbidden");
    assert.equal(outcomeMessage({ resourceType: "OperationOutcome", issue: [{ diagnostics: "Patient.name: required" }, { diagnostics: "Patient.birthDate: in the future" }] }), "Patient.name: required; Patient.birthDate: in the future");
    assert.equal(outcomeMessage({ error: "CSRF token missing" }), "CSRF token missing");
    assert.equal(outcomeMessage({ resourceType: "OperationOutcome", issue: [] }), undefined);
    assert.equal(outcomeMessage({ resourceType: "Patient" }), undefined);
    assert.equal(outcomeMessage("x"), undefined);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { imageKind } from "../src/image.js";
import { MAX_IMAGE_SIZE } from "../src/limits.js";
import { readRepo, repoRoot } from "./helpers.js";
import { join } from "node:path";

const png = new Uint8Array(readFileSync(join(repoRoot, "infer/models/chest/examples/normal.png")));
const ct = new Uint8Array(readFileSync(join(repoRoot, "infer/imaging/testdata/CT_small.dcm"))); // pydicom's test file
const dcm = new Uint8Array(200);
dcm.set([0x44, 0x49, 0x43, 0x4d], 128);

describe("imageKind", () => {
  const cases: [string, string, string, Uint8Array, string | undefined][] = [
    ["a PNG", "x.png", "image/png", png, "image/png"],
    ["a PNG without a MIME type", "x.png", "", png, "image/png"],
    ["a DICOM file", "x.dcm", "", dcm, "application/dicom"],
    ["pydicom's CT_small.dcm", "CT_small.dcm", "", ct, "application/dicom"],
    ["a DICOM file typed octet-stream", "x.DCM", "application/octet-stream", dcm, "application/dicom"],
    ["a DICOM file typed application/dicom", "scan", "application/dicom", dcm, "application/dicom"],
    ["a PNG named .dcm", "x.dcm", "", png, undefined],
    ["a DICOM named .png", "x.png", "image/png", dcm, undefined],
    ["a JPEG", "x.png", "image/jpeg", new Uint8Array([0xff, 0xd8, 0xff, 0xe0]), undefined],
    ["a short file", "x.dcm", "", new Uint8Array(10), undefined],
    ["an empty file", "x.png", "image/png", new Uint8Array(0), undefined],
  ];
  for (const [name, file, type, bytes, want] of cases) {
    it(name, () => assert.equal(imageKind(file, type, bytes), want));
  }
});

describe("MAX_IMAGE_SIZE", () => {
  it("is the care API's limit (health/careapi/limits.go MaxImageSize), 2 MiB", () => {
    assert.equal(MAX_IMAGE_SIZE, 2 << 20);
    const m = /^\s*MaxImageSize\s*=\s*(\d+)\s*<<\s*(\d+)\s*$/m.exec(readRepo("health/careapi/limits.go"));
    assert.ok(m, "MaxImageSize not found in health/careapi/limits.go");
    assert.equal(MAX_IMAGE_SIZE, Number(m[1]) * 2 ** Number(m[2]));
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../src/config.js";
import { portalRoot } from "./helpers.js";

const base = { careApi: "https://care.example/", jwksUrl: "https://attestd.example/v1/certs", issuer: "https://attestd.example", measurements: ["ABAB"] };

describe("parseConfig", () => {
  it("parses config.example.json", () => {
    const c = parseConfig(readFileSync(join(portalRoot, "config.example.json"), "utf8"));
    assert.deepEqual(c.algorithms, ["ES256"]);
    assert.equal(c.allowSimulation, false);
  });
  it("applies defaults, trims the trailing slash and lowercases measurements", () => {
    const c = parseConfig(JSON.stringify(base));
    assert.equal(c.careApi, "https://care.example");
    assert.deepEqual(c.measurements, ["abab"]);
    assert.deepEqual(c.algorithms, ["ES256"]);
    assert.deepEqual(c.pinnedKeyIDs, []);
    assert.equal(c.allowSimulation, false);
    assert.equal(parseConfig(JSON.stringify({ ...base, careApi: "", jwksUrl: "/v1/certs" })).careApi, "");
  });
  const bad: [string, unknown, string][] = [
    ["not JSON", "{", "(document)"],
    ["an array", [], "(document)"],
    ["a misspelt member", { ...base, allowSimulaton: true }, "allowSimulaton"],
    ["no measurements", { ...base, measurements: [] }, "measurements"],
    ["measurements absent", { ...base, measurements: undefined }, "measurements"],
    ["a non-hex measurement", { ...base, measurements: ["xyz1"] }, "measurements"],
    ["an odd-length measurement", { ...base, measurements: ["abc"] }, "measurements"],
    ["careApi not a URL", { ...base, careApi: "care api" }, "careApi"],
    ["careApi javascript:", { ...base, careApi: "javascript:alert(1)" }, "careApi"],
    ["careApi with credentials", { ...base, careApi: "https://u:p@care.example" }, "careApi"],
    ["no issuer", { ...base, issuer: "" }, "issuer"],
    ["no jwksUrl", { ...base, jwksUrl: undefined }, "jwksUrl"],
    ["allowSimulation a string", { ...base, allowSimulation: "false" }, "allowSimulation"],
    ["algorithm none", { ...base, algorithms: ["none"] }, "algorithms"],
    ["algorithm HS256", { ...base, algorithms: ["ES256", "HS256"] }, "algorithms"],
    ["empty algorithms", { ...base, algorithms: [] }, "algorithms"],
    ["pinnedKeyIDs a string", { ...base, pinnedKeyIDs: "k" }, "pinnedKeyIDs"],
    ["a pinned kid that is a label", { ...base, pinnedKeyIDs: ["test-es256"] }, "pinnedKeyIDs"],
    ["a pinned kid of 42 characters", { ...base, pinnedKeyIDs: ["b3gG1rvjcIC_V-oS0i25EI8yYXdGDHonWxg1q179VL"] }, "pinnedKeyIDs"],
    ["a pinned kid with padding", { ...base, pinnedKeyIDs: ["b3gG1rvjcIC_V-oS0i25EI8yYXdGDHonWxg1q179VL8="] }, "pinnedKeyIDs"],
    ["a pinned kid with a non-canonical last character", { ...base, pinnedKeyIDs: ["b3gG1rvjcIC_V-oS0i25EI8yYXdGDHonWxg1q179VL9"] }, "pinnedKeyIDs"],
    ["service empty", { ...base, service: "" }, "service"],
    ["service not a string", { ...base, service: ["careapi"] }, "service"],
    ["service with a space", { ...base, service: "care api" }, "service"],
    ["service with a control character", { ...base, service: "careapi\n" }, "service"],
  ];
  for (const [name, doc, field] of bad) {
    it(`refuses ${name}`, () => {
      const text = typeof doc === "string" ? doc : JSON.stringify(doc);
      assert.throws(() => parseConfig(text), (e: unknown) => e instanceof ConfigError && e.field === field);
    });
  }
  it("reads pinnedKeyIDs (thumbprints) and service", () => {
    const c = parseConfig(JSON.stringify({ ...base, pinnedKeyIDs: ["b3gG1rvjcIC_V-oS0i25EI8yYXdGDHonWxg1q179VL8"], service: "careapi" }));
    assert.deepEqual(c.pinnedKeyIDs, ["b3gG1rvjcIC_V-oS0i25EI8yYXdGDHonWxg1q179VL8"]);
    assert.equal(c.service, "careapi");
    assert.equal(parseConfig(JSON.stringify(base)).service, undefined, "absent: not checked");
  });
  it("refuses an oversized document", () => {
    assert.throws(() => parseConfig(" ".repeat(70000)), (e: unknown) => e instanceof ConfigError && e.field === "(document)");
  });
});

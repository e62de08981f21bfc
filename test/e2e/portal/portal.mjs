// Drives the hospital portal in Debian's Chromium for cofre's e2e tests:
//
//   node portal.mjs MODE URL PASSWORD IMAGE ARTIFACTS
//
// MODE flow: the whole visit — the portal verifies the care API's
// attestation, a clinician signs in, enters a patient, uploads a chest
// image and gets the diagnosis; no request leaves the browser unsealed.
// MODE tampered: the care API's token arrives with one signature byte
// changed; MODE expired: the browser's clock is past the token's expiry.
// Both must end with the portal refusing to send anything.
// Screenshots go to ARTIFACTS. Exit 0 when the expectations hold.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [mode, url, password, image, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const fail = (msg) => { throw new Error(msg); };
let step = 0;
const shot = async (page, name) => page.screenshot({ path: path.join(artifacts, `${mode}-${String(++step).padStart(2, "0")}-${name}.png`), fullPage: true });

const page = await browser.newPage();
try {
  const sent = []; // every request the page makes, with its body
  page.on("request", (r) => sent.push({ url: r.url(), method: r.method(), body: r.postDataBuffer() }));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  if (mode === "tampered") {
    await page.route("**/api/attestation", async (route) => {
      const resp = await route.fetch();
      const body = await resp.json();
      const [h, p, s] = body.token.split(".");
      const flipped = (s[10] === "A" ? "B" : "A");
      body.token = [h, p, s.slice(0, 10) + flipped + s.slice(11)].join(".");
      await route.fulfill({ response: resp, json: body });
    });
  }
  if (mode === "expired") {
    await page.clock.install({ time: new Date(Date.now() + 3 * 3600 * 1000) });
  }
  await page.goto(url);
  const status = page.locator("#attestation-status");
  await status.filter({ hasText: /verified|refused/ }).waitFor({ timeout: 30000 });
  const verdict = (await status.textContent()).trim();
  await shot(page, "attestation");

  if (mode !== "flow") {
    if (!verdict.startsWith("refused")) fail(`${mode}: the portal accepted the token: ${verdict}`);
    if (!(await page.locator("#sign-in").isDisabled())) fail(`${mode}: sign-in is still enabled`);
    const leaked = sent.filter((r) => r.url.includes("/api/sealed") || r.url.includes("/fhir/"));
    if (leaked.length) fail(`${mode}: ${leaked.length} requests sent after a refused attestation`);
    console.log(`${mode}: refused (${verdict}); nothing sent`);
  } else {
    if (verdict !== "verified") fail(`the portal refused the care API: ${verdict}`);
    if (!(await page.locator("#simulation-banner").isVisible())) fail("no SIMULATION banner for a simulated care API");
    await page.fill("#username", "clinician");
    await page.fill("#password", password);
    await page.click("#sign-in");
    await page.locator("#new-patient").waitFor({ state: "visible", timeout: 20000 });
    await shot(page, "signed-in");
    await page.fill("#given", "Ada");
    await page.fill("#family", "Lovelace-Testpatient");
    await page.fill("#birth-date", "1955-12-10");
    await page.selectOption("#gender", "female");
    await page.fill("#mrn", "MRN-E2E-0001");
    await page.click("#create-patient");
    const row = page.locator(".patient-row", { hasText: "Lovelace-Testpatient" });
    await row.waitFor({ timeout: 20000 });
    await shot(page, "patient-created");
    await row.click();
    await page.locator("#image-file").setInputFiles(image);
    await page.click("#upload");
    await page.locator("#diagnose").waitFor({ state: "visible" });
    await page.locator("#diagnose:enabled").waitFor({ timeout: 20000 });
    await shot(page, "image-uploaded");
    await page.click("#diagnose");
    await page.locator("#diagnosis", { hasText: /nodule/i }).waitFor({ timeout: 30000 });
    await shot(page, "diagnosis");
    const diagnosis = (await page.locator("#diagnosis").innerText()).replace(/\s+/g, " ");
    // Every request after the attestation went sealed: no patient value
    // crossed the network in clear, and no API call bypassed the gateway.
    for (const r of sent) {
      const u = new URL(r.url);
      if ((u.pathname.startsWith("/api/") || u.pathname.startsWith("/fhir/")) && u.pathname !== "/api/sealed" && u.pathname !== "/api/attestation") {
        fail(`request outside the sealed gateway: ${r.method} ${u.pathname}`);
      }
      if (r.body && ["Lovelace", "MRN-E2E-0001", "1955-12-10", password].some((s) => r.body.includes(s))) {
        fail(`plaintext patient data or password in a request to ${u.pathname}`);
      }
    }
    const sealed = sent.filter((r) => r.url.endsWith("/api/sealed")).length;
    console.log(`flow: diagnosis shown (${diagnosis.slice(0, 160)}); ${sealed} sealed requests, none in clear`);
  }
  if (errors.length) fail(`script errors: ${errors.join("; ")}`);
} catch (e) {
  console.error(String(e && e.stack || e));
  await page.screenshot({ path: path.join(artifacts, `${mode}-failure.png`), fullPage: true }).catch(() => {});
  console.error("page text at failure:", (await page.locator("body").innerText().catch(() => "")).slice(0, 2000));
  process.exitCode = 1;
} finally {
  await browser.close();
}

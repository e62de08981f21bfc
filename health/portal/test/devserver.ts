// TEST ONLY: serves dist/ with the fake care API (fakecare.ts) on loopback,
// for looking at the portal in a browser without the Go stack:
//   npm run build && npx tsc -p tsconfig.test.json && node build/test/devserver.js
// COFRE_DEMO_SIM=1 issues a simulated token (and the config allows it);
// COFRE_DEMO_BAD_MEASUREMENT=1 pins a measurement the token does not have.
// Sign in as alice / "correct horse".

import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buf } from "../src/bytes.js";
import { FakeCare } from "./fakecare.js";
import { MEASUREMENT, claims, jwkOf, newSigner, portalRoot } from "./helpers.js";
import { SealedServer } from "./server.js";

const sim = process.env.COFRE_DEMO_SIM === "1";
const signer = await newSigner();
const srv = await SealedServer.generate(0x10);
// A fresh five-minute token per request, as the coordinator's refreshing token would be.
const attestation = async () => ({ token: await signer.sign({ alg: "ES256", kid: signer.kid, typ: "JWT" }, claims(jwkOf(srv.key), { sim, iat: Math.floor(Date.now() / 1000) })) });
const care = new FakeCare(srv, {
  attestation,
  jwks: signer.jwks,
  config: {
    careApi: "",
    jwksUrl: "/v1/certs",
    issuer: "https://attestd.example",
    measurements: [process.env.COFRE_DEMO_BAD_MEASUREMENT === "1" ? "cd".repeat(48) : MEASUREMENT],
    allowSimulation: sim,
    algorithms: ["ES256"],
  },
});
const types: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css" };

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (path === "/" || path === "/index.html" || path === "/app.js" || path === "/styles.css") {
    const file = path === "/" ? "index.html" : path.slice(1);
    res.writeHead(200, { "Content-Type": types[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream" });
    res.end(readFileSync(join(portalRoot, "dist", file)));
    return;
  }
  const r = await care.fetch(path, { method: req.method ?? "GET", headers: { "Content-Type": req.headers["content-type"] ?? "" }, ...(req.method === "POST" ? { body: buf(new Uint8Array(Buffer.concat(chunks))) } : {}) });
  res.writeHead(r.status, { "Content-Type": r.headers.get("Content-Type") ?? "text/plain" });
  res.end(Buffer.from(await r.arrayBuffer()));
});
server.listen(Number(process.env.PORT ?? "0"), "127.0.0.1", () => {
  const a = server.address();
  console.log(`portal demo at http://127.0.0.1:${typeof a === "object" && a ? a.port : "?"}/`);
});

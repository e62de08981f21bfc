// Builds dist/: the bundled app (esbuild), index.html, styles.css and
// config.example.json. The deployer adds config.json next to index.html.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
await build({
  entryPoints: [join(root, "src/main.ts")],
  outfile: join(dist, "app.js"),
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
for (const [from, to] of [["static/index.html", "index.html"], ["static/styles.css", "styles.css"], ["config.example.json", "config.example.json"]]) {
  copyFileSync(join(root, from), join(dist, to));
}
console.log("dist/ written");

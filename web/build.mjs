// Builds Harbour's web assets from the installed packages into api/web/assets (git-ignored):
// GOV.UK Frontend compiled from Sass, its JavaScript and images, Chart.js, axe-core (for the
// browser tests), Swagger UI (for /docs) and Harbour's own small script. Run by `make assets` after `npm ci`.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "api", "web", "assets");
const modules = join(here, "node_modules");
const govuk = join(modules, "govuk-frontend", "dist", "govuk");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const css = sass.compile(join(here, "src", "harbour.scss"), {
  loadPaths: [join(modules, "govuk-frontend", "dist")],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "harbour.css"), css.css);

cpSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(govuk, "assets", "images"), join(out, "images"), { recursive: true });
cpSync(join(govuk, "assets", "manifest.json"), join(out, "manifest.json"));
cpSync(join(modules, "chart.js", "dist", "chart.umd.min.js"), join(out, "chart.umd.min.js"));
cpSync(join(modules, "axe-core", "axe.min.js"), join(out, "axe.min.js"));
cpSync(join(here, "src", "harbour.mjs"), join(out, "harbour.mjs"));
// Swagger UI for /docs, served from here rather than a CDN (councils' networks often block one).
const swagger = join(modules, "swagger-ui-dist");
mkdirSync(join(out, "swagger"), { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "oauth2-redirect.html"]) {
  cpSync(join(swagger, file), join(out, "swagger", file));
}
console.log(`web assets built in ${out}`);

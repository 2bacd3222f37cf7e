// Bundles the demo editor and dashboard with esbuild into web/demo/dist,
// which quire-server serves with --static-dir (scripts/run passes it).
// Run by the CMake target `web_demo` (part of the default build) or by
// hand: node web/demo/build.mjs [--outdir DIR]
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--outdir');
const outdir = i > 0 ? resolve(process.argv[i + 1]) : join(here, 'dist');
mkdirSync(outdir, { recursive: true });

const result = await build({
  entryPoints: { app: join(here, 'src/app.js'), dashboard: join(here, 'src/dashboard.js') },
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  outdir,
  metafile: true,
  logLevel: 'warning',
});

const hash = createHash('sha256');
for (const name of ['app.js', 'dashboard.js']) hash.update(readFileSync(join(outdir, name)));
for (const name of ['index.html', 'dashboard.html', 'style.css']) {
  copyFileSync(join(here, 'src', name), join(outdir, name));
  hash.update(readFileSync(join(outdir, name)));
}
const version = hash.digest('hex').slice(0, 12);
const sw = readFileSync(join(here, 'src/sw.js'), 'utf8').replace('__QUIRE_BUILD__', version);
writeFileSync(join(outdir, 'sw.js'), sw);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`web demo: ${outdir} (build ${version}, ${Math.round(bytes / 1024)} KiB with source maps)`);

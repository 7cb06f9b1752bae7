// Builds mcpapp/desktop.html, the MCP App the Go binary embeds: the page in
// src/desktop.html with src/desktop.js bundled into it (ext-apps' App,
// noVNC), one self-contained file that needs no network but the stream's
// WebSocket. Also writes THIRD_PARTY_NOTICES.txt for the bundled code.
//
// Inputs come from e2e/node_modules (versions pinned by e2e/package-lock.json;
// `npm ci` there first), so the output is reproducible:
//
//	node mcpapp/build.mjs           rebuild both files
//	node mcpapp/build.mjs --check   exit 1 if the committed files differ from a rebuild (CI)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const modules = path.join(root, 'e2e', 'node_modules');
const require = createRequire(path.join(root, 'e2e', 'package.json'));
const esbuild = require('esbuild');

const check = process.argv.includes('--check');
const outHTML = path.join(here, 'desktop.html');
const outNotices = path.join(here, 'THIRD_PARTY_NOTICES.txt');

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['mcpapp/src/desktop.js'],
  nodePaths: [modules],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none', // the notices file carries them
  charset: 'utf8',
  write: false,
  metafile: true,
  logLevel: 'warning',
});
const js = result.outputFiles[0].text.trim();
if (/<\/script/i.test(js) || /<!--/.test(js)) {
  throw new Error('the bundle contains </script or <!--: it cannot be inlined');
}
const template = fs.readFileSync(path.join(here, 'src', 'desktop.html'), 'utf8');
if (template.split('/*BUNDLE*/').length !== 2) throw new Error('src/desktop.html must hold one /*BUNDLE*/');
const html = template.replace('/*BUNDLE*/', () => js);

// Notices: every npm package the bundle took files from, with its licence.
const pkgs = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.replace(/\\/g, '/').match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) pkgs.set(m[1], path.join(modules, m[1]));
}
// ext-apps' app-with-deps is itself a bundle of these.
const inner = { '@modelcontextprotocol/ext-apps': ['zod', '@modelcontextprotocol/core', '@modelcontextprotocol/client'] };
for (const [outer, deps] of Object.entries(inner)) {
  if (pkgs.has(outer)) for (const d of deps) if (fs.existsSync(path.join(modules, d))) pkgs.set(d, path.join(modules, d));
}
if (pkgs.has('@novnc/novnc')) pkgs.set('@novnc/novnc (vendor/pako)', path.join(modules, '@novnc/novnc/vendor/pako'));
let notices = 'Third-party code bundled into desktop.html (built by mcpapp/build.mjs from e2e/node_modules).\n';
for (const name of [...pkgs.keys()].sort()) {
  const dir = pkgs.get(name);
  let version = '';
  try { version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version; } catch { /* vendored */ }
  const lic = fs.readdirSync(dir).find((f) => /^licen[sc]e(\.(md|txt))?$/i.test(f));
  notices += `\n${'='.repeat(72)}\n${name}${version ? ` ${version}` : ''}\n${'='.repeat(72)}\n\n`;
  notices += lic ? fs.readFileSync(path.join(dir, lic), 'utf8').trim() + '\n' : '(no licence file in the package)\n';
}

if (check) {
  const same = (f, want) => fs.existsSync(f) && fs.readFileSync(f, 'utf8') === want;
  const stale = [[outHTML, html], [outNotices, notices]].filter(([f, want]) => !same(f, want)).map(([f]) => path.relative(root, f));
  if (stale.length) {
    console.error(`mcpapp: ${stale.join(', ')} differ from a rebuild of mcpapp/src: run node mcpapp/build.mjs and commit`);
    process.exit(1);
  }
  console.error(`mcpapp: desktop.html matches its sources (${html.length} bytes)`);
} else {
  fs.writeFileSync(outHTML, html);
  fs.writeFileSync(outNotices, notices);
  console.error(`mcpapp: wrote desktop.html (${html.length} bytes) and THIRD_PARTY_NOTICES.txt (${pkgs.size} packages)`);
}

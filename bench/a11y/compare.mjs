// The UI snapshot against the models to beat, on the same pages
// (testdata/a11y/*.html): Playwright MCP's browser_snapshot of the page in
// headless Chromium, and vmservice's screenshot of the same screen. Counts
// bytes and tokens with Anthropic's tokenizer (@anthropic-ai/tokenizer; an
// image's tokens are width*height/750, Anthropic's published estimate).
// vmservice runs as the built binary over stdio on the local backend; each
// page opens in Chromium inside a sandbox. Usage (bench/a11y/run.sh):
//   node compare.mjs VMSERVICE_BINARY TESTDATA_DIR
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const require = createRequire(import.meta.url);
const { countTokens } = require('@anthropic-ai/tokenizer');
const [bin, dir] = process.argv.slice(2);
const pages = ['form.html', 'article.html'];
const rows = [];
const row = (page, what, text, tokens) => rows.push({ page, what, bytes: Buffer.byteLength(text ?? ''), tokens: tokens ?? countTokens(text) });

// Playwright MCP over a loopback HTTP server (it refuses file:// URLs).
const srv = http.createServer((req, res) => {
  const f = path.join(dir, path.basename(req.url));
  fs.readFile(f, (err, data) => { res.writeHead(err ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' }); res.end(data); });
});
await new Promise(r => srv.listen(0, '127.0.0.1', r));
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'a11y-compare-')); // Playwright MCP's files
const pw = new Client({ name: 'a11y-compare', version: '1' });
await pw.connect(new StdioClientTransport({ command: process.execPath, stderr: 'ignore',
  args: [path.join(path.dirname(require.resolve('@playwright/mcp/package.json')), 'cli.js'), '--headless', '--isolated', '--browser', 'chromium',
    '--executable-path', '/usr/bin/chromium', '--no-sandbox', '--viewport-size', '1024,768', '--output-dir', out] }));
for (const page of pages) {
  await pw.callTool({ name: 'browser_navigate', arguments: { url: `http://127.0.0.1:${srv.address().port}/${page}` } });
  const r = await pw.callTool({ name: 'browser_snapshot', arguments: {} });
  const text = r.content.map(c => c.text ?? '').join('\n');
  row(page, 'Playwright MCP browser_snapshot (whole answer)', text);
  row(page, 'Playwright MCP browser_snapshot (the YAML only)', (text.match(/```yaml\n([\s\S]*?)```/) ?? [, text])[1]);
}
await pw.close();
srv.close();
fs.rmSync(out, { recursive: true, force: true });

// vmservice: the page in Chromium in a sandbox.
// (--toolsets all: ui and screenshot are outside the default toolsets.)
const vm = new Client({ name: 'a11y-compare', version: '1' });
await vm.connect(new StdioClientTransport({ command: bin, args: ['--log-level', 'warn', '--toolsets', 'all'], stderr: 'ignore' }));
const call = async (name, args) => {
  const r = await vm.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name}: ${r.content?.[0]?.text}`);
  return r;
};
const id = (await call('create_sandbox', {})).structuredContent.sandbox_id;
try {
  for (const page of pages) {
    await call('write_file', { sandbox_id: id, path: `/home/user/${page}`, content: fs.readFileSync(path.join(dir, page), 'utf8') });
    await call('launch_application', { sandbox_id: id, application: 'chromium', uri: `/home/user/${page}` });
    const want = page === 'form.html' ? 'button "Send"' : 'link "Terms"';
    let snap = '';
    for (let i = 0; i < 300 && !snap.includes(want); i++) {
      const r = await vm.callTool({ name: 'ui_snapshot', arguments: { sandbox_id: id, app: 'chromium' } });
      snap = r.isError ? '' : r.structuredContent.snapshot;
      if (!snap.includes(want)) await new Promise(res => setTimeout(res, 300));
    }
    if (!snap.includes(want)) throw new Error(`${page}: no ${want} in the snapshot:\n${snap}`);
    row(page, 'vmservice ui_snapshot (the window)', snap);
    // The page alone, as Playwright sees it: the document line and below.
    const lines = snap.split('\n');
    const at = lines.findIndex(l => / document /.test(l));
    const indent = lines[at].search(/\S/);
    const end = lines.findIndex((l, i) => i > at && l.trim() !== '' && l.search(/\S/) <= indent);
    row(page, 'vmservice ui_snapshot (the page only)', lines.slice(at, end < 0 ? undefined : end).join('\n') + '\n');
    const inter = (await call('ui_snapshot', { sandbox_id: id, app: 'chromium', interactive: true })).structuredContent.snapshot;
    row(page, 'vmservice ui_snapshot interactive (the window)', inter);
    const shot = await call('screenshot', { sandbox_id: id });
    const img = shot.content.find(c => c.type === 'image');
    const size = await call('get_screen_size', { sandbox_id: id });
    const s = size.structuredContent;
    rows.push({ page, what: `vmservice screenshot (PNG ${s.width}x${s.height}, base64)`, bytes: img.data.length, tokens: Math.round(s.width * s.height / 750) });
    await call('run_command', { sandbox_id: id, command: 'pkill -x chromium; true' });
  }
} finally {
  await vm.callTool({ name: 'destroy_sandbox', arguments: { sandbox_id: id } }).catch(() => {});
  await vm.close();
}

console.log('| page | what | bytes | tokens |\n|---|---|---:|---:|');
for (const r of rows) console.log(`| ${r.page} | ${r.what} | ${r.bytes} | ${r.tokens} |`);

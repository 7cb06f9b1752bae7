// The MCP App (the sandbox's live desktop inside an MCP host) in a real
// browser: Debian's chromium driven by playwright-core, a host page built on
// ext-apps' AppBridge (host.js) with the spec's sandbox proxy, against the
// real vmservice over MCP (the official TypeScript SDK client). The stream
// sits behind a reverse proxy under a path prefix (--stream-public-url).
//   node app.mjs <url of /mcp> <bearer token> <output dir> <stream listen port> <public proxy port>
// Checks: the tools link the app (_meta.ui.resourceUri); the resource is
// text/html;profile=mcp-app and its CSP names the stream's public origin
// only; loaded from a create_sandbox result, the app asks for the live view
// itself (tools/call through the host) and its canvas shows the sandbox's
// screen; clicks reach the sandbox only while "Take over" is on, and the
// model is told when the person takes over and hands back; the CSP blocks
// the stream's direct address; a view_only stream leaves the switch off.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as esbuild from 'esbuild';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checks, sleep, until, browser as launch } from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [mcpURL, token, outDir, streamPort, publicPort] = process.argv.slice(2);
const { check, log, fail, done } = checks('mcpapp');
fs.mkdirSync(outDir, { recursive: true });

// ---- the reverse proxy in front of the stream listener: /desk/... -> /...
const proxy = http.createServer((req, res) => {
  if (!req.url.startsWith('/desk/')) { res.writeHead(404); res.end(); return; }
  const up = http.request({ host: '127.0.0.1', port: streamPort, path: req.url.slice(5), method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(up);
});
proxy.on('upgrade', (req, sock, head) => {
  if (!req.url.startsWith('/desk/')) { sock.destroy(); return; }
  const up = net.connect(Number(streamPort), '127.0.0.1', () => {
    let h = `${req.method} ${req.url.slice(5)} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) h += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(`${h}\r\n`);
    if (head?.length) up.write(head);
    sock.pipe(up).pipe(sock);
  });
  up.on('error', () => sock.destroy());
  sock.on('error', () => up.destroy());
});
await new Promise((r) => proxy.listen(Number(publicPort), '127.0.0.1', r));
const publicOrigin = `http://127.0.0.1:${publicPort}`;

// ---- the host: host.html on 127.0.0.1, the sandbox proxy on localhost
// (another origin, as the spec requires), its CSP built from _meta.ui.csp.
const hostJS = (await esbuild.build({
  entryPoints: [path.join(here, 'host.js')], bundle: true, format: 'esm', write: false, logLevel: 'warning',
})).outputFiles[0].text;
const hostHTML = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>e2e host</title></head><body><script type="module" src="/host.js"></script></body></html>';
function cspHeader(csp = {}) {
  const r = (csp.resourceDomains || []).join(' ');
  const c = (csp.connectDomains || []).join(' ');
  return [`default-src 'none'`, `script-src 'self' 'unsafe-inline' ${r}`, `style-src 'self' 'unsafe-inline' ${r}`,
    `connect-src 'self' ${c}`, `img-src 'self' data: ${r}`, `font-src 'self' ${r}`, `media-src 'self' data: ${r}`,
    `frame-src ${(csp.frameDomains || []).join(' ') || "'none'"}`, `object-src 'none'`,
    `base-uri ${(csp.baseUriDomains || []).join(' ') || "'self'"}`].map((d) => d.trim()).join('; ');
}
// The sandbox proxy: relays messages both ways and writes the View's HTML
// into its inner frame, which inherits this page's CSP.
const sandboxHTML = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{margin:0;height:100%}iframe{width:100%;height:100%;border:0}</style></head><body><script>
window.cspViolations = [];
const host = new URL(document.referrer).origin;
const inner = document.createElement('iframe');
inner.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
document.body.appendChild(inner);
window.addEventListener('message', (e) => {
  if (e.source === window.parent) {
    if (e.origin !== host) return;
    if (e.data && e.data.method === 'ui/notifications/sandbox-resource-ready') {
      const d = inner.contentDocument;
      d.open(); d.write(e.data.params.html); d.close();
      d.addEventListener('securitypolicyviolation', (v) => window.cspViolations.push({ uri: v.blockedURI, directive: v.effectiveDirective }));
    } else {
      inner.contentWindow.postMessage(e.data, '*');
    }
  } else if (e.source === inner.contentWindow) {
    window.parent.postMessage(e.data, host);
  }
});
window.parent.postMessage({ jsonrpc: '2.0', method: 'ui/notifications/sandbox-proxy-ready', params: {} }, host);
</script></body></html>`;
const hostServer = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/host.html') {
    res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(hostHTML);
  } else if (u.pathname === '/host.js') {
    res.writeHead(200, { 'Content-Type': 'text/javascript' }); res.end(hostJS);
  } else if (u.pathname === '/sandbox.html') {
    let csp = {};
    try { csp = JSON.parse(u.searchParams.get('csp') || '{}'); } catch { /* default */ }
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Security-Policy': cspHeader(csp) }); res.end(sandboxHTML);
  } else {
    res.writeHead(404); res.end();
  }
});
await new Promise((r) => hostServer.listen(0, '127.0.0.1', r));
const hostPort = hostServer.address().port;
const hostURL = `http://127.0.0.1:${hostPort}/host.html`;
const sandboxURL = `http://localhost:${hostPort}/sandbox.html`;

// ---- MCP
const client = new Client({ name: 'vmservice-e2e-mcpapp', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(mcpURL), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
}));
async function call(name, args = {}) {
  const res = await client.callTool({ name, arguments: args });
  if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.structuredContent || res.content)}`);
  return res;
}
async function sh(id, command, extra = {}) {
  const r = (await call('run_command', { sandbox_id: id, command, ...extra })).structuredContent;
  if (!extra.background && r.exit_code !== 0) throw new Error(`run_command ${command}: ${r.stderr}`);
  return r.stdout;
}
async function mouse(id) {
  const m = Object.fromEntries((await sh(id, 'xdotool getmouselocation --shell')).trim().split('\n').map((l) => l.split('=')));
  return { x: Number(m.X), y: Number(m.Y) };
}
const presses = async (id) => Number((await sh(id, 'grep -c ButtonPress /tmp/xev.log || true')).trim());

const browser = await launch();
let id;

// appFrame is the View's frame (inside the sandbox proxy's frame).
async function appFrame(page) {
  return until('the app frame', () => page.frames().find((f) => f.parentFrame()?.url().startsWith(sandboxURL)));
}
async function screenShows(frame, [r, g, b]) {
  await frame.waitForFunction(([r, g, b]) => {
    const c = document.querySelector('#screen canvas');
    if (!c || c.width < 100) return false;
    const d = c.getContext('2d').getImageData(Math.floor(c.width / 2), 5, 1, 1).data;
    return Math.abs(d[0] - r) < 8 && Math.abs(d[1] - g) < 8 && Math.abs(d[2] - b) < 8;
  }, [r, g, b], { timeout: 30000, polling: 'raf' });
}
// clickRemote clicks the app's canvas where the remote screen's (rx, ry) is.
async function clickRemote(frame, rx, ry) {
  const pos = await frame.evaluate(([x, y]) => {
    const c = document.querySelector('#screen canvas');
    const r = c.getBoundingClientRect();
    return { x: (x + 0.5) * r.width / c.width, y: (y + 0.5) * r.height / c.height };
  }, [rx, ry]);
  await frame.locator('#screen canvas').click({ position: pos });
}

try {
  // ---- what the server declares
  // The default surface (screenshot, in the desktop toolset, links it too:
  // testdata/toolsnaps).
  const { tools } = await client.listTools();
  for (const name of ['create_sandbox', 'start_stream']) {
    const t = tools.find((x) => x.name === name);
    check(t?._meta?.ui?.resourceUri === 'ui://vmservice/desktop', `${name} links the app: ${JSON.stringify(t?._meta)}`);
  }
  const rr = await client.readResource({ uri: 'ui://vmservice/desktop' });
  check(rr.contents.length === 1, `one content, got ${rr.contents.length}`);
  const app = rr.contents[0];
  check(app.mimeType === 'text/html;profile=mcp-app', `app MIME type ${app.mimeType}`);
  const csp = app._meta?.ui?.csp;
  check(JSON.stringify(csp?.connectDomains) === JSON.stringify([publicOrigin, `ws://127.0.0.1:${publicPort}`]),
    `the CSP allows the stream's public origin only: ${JSON.stringify(csp)}`);
  check((csp?.resourceDomains || []).length === 0 && !csp?.frameDomains, `no other domains: ${JSON.stringify(csp)}`);

  // ---- a sandbox, with a window that logs clicks
  const created = await call('create_sandbox', { timeout_seconds: 600 });
  id = created.structuredContent.sandbox_id;
  const green = [0x1f, 0x7a, 0x3d];
  await sh(id, "xsetroot -solid '#1f7a3d'");
  await sh(id, 'exec xev -geometry 400x300+300+200 -event button > /tmp/xev.log 2>&1', { background: true });
  await sh(id, 'for i in $(seq 100); do xdotool search --name "Event Tester" >/dev/null && exit 0; sleep 0.1; done; exit 1');

  // ---- the app opened on create_sandbox's result asks for the live view
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 950 } });
  const page = await ctx.newPage();
  await page.exposeFunction('hostCallTool', (params) => client.callTool(params));
  page.on('console', (m) => { if (m.type() === 'error') log('browser console:', m.text()); });
  await page.goto(hostURL);
  await page.waitForFunction(() => typeof window.renderApp === 'function');
  await page.evaluate((a) => window.renderApp(a), {
    html: app.text, csp, sandboxURL, tool: 'create_sandbox', toolInput: { timeout_seconds: 600 }, toolResult: created,
  });
  const frame = await appFrame(page);
  await screenShows(frame, green);
  const calls = await page.evaluate(() => window.hostLog.toolCalls);
  check(calls.length === 1 && calls[0].name === 'start_stream' && calls[0].arguments.sandbox_id === id,
    `the app asked for the live view through the host: ${JSON.stringify(calls)}`);
  const st = await frame.evaluate(() => ({ ...window.vmdesk }));
  check(st.state === 'connected' && st.sandboxId === id && !st.takeover, `app state ${JSON.stringify(st)}`);
  check(st.streamURL.startsWith(`${publicOrigin}/desk/stream/`), `stream behind the public URL: ${st.streamURL}`);
  check(await frame.locator('#takeover').isChecked() === false, 'take-over is off at first');
  await page.screenshot({ path: path.join(outDir, 'app-watching.png') });

  // ---- view-only by default: a click is not sent. Proven by order: the
  // next click (in control) travels the same WebSocket, so a click sent
  // now would arrive before it, and the sandbox would count two.
  const toggle = async (on) => {
    await frame.locator('#takeover').click();
    check(await frame.evaluate(() => window.vmdesk.takeover) === on, `take-over switched ${on ? 'on' : 'off'}`);
  };
  const clickInControl = async (x, y, want) => {
    await toggle(true);
    await clickRemote(frame, x, y);
    const n = await until(`click ${want} in the sandbox`, async () => { const c = await presses(id); return c >= want ? c : 0; });
    check(n === want, `${n} clicks reached the sandbox, want ${want}: one was sent while watching`);
    const m = await mouse(id);
    check(Math.abs(m.x - x) <= 2 && Math.abs(m.y - y) <= 2, `in control: pointer at ${m.x},${m.y}, want ${x},${y}`);
  };
  await clickRemote(frame, 500, 350);
  await clickInControl(520, 360, 1);
  await page.screenshot({ path: path.join(outDir, 'app-in-control.png') });
  let mc = await until('model context (taken over)', () => page.evaluate(() => window.hostLog.modelContext));
  check(/taken over/.test(mc.at(-1).content[0].text) && mc.at(-1).content[0].text.includes(id), `model told: ${JSON.stringify(mc)}`);

  // ---- hand back: clicks stop reaching it (same proof), and the model is told
  await toggle(false);
  mc = await until('model context (handed back)', async () => { const x = await page.evaluate(() => window.hostLog.modelContext); return x.length === 2 && x; });
  check(/handed .* back/.test(mc[1].content[0].text), `model told of the hand-back: ${JSON.stringify(mc)}`);
  await clickRemote(frame, 600, 400);
  await clickInControl(540, 380, 2);
  await toggle(false);

  // ---- the CSP: nothing went against it; the stream's own address (not
  // the public one) is out of bounds for the app.
  const sandboxFrame = frame.parentFrame();
  check((await sandboxFrame.evaluate(() => window.cspViolations)).length === 0,
    `CSP violations while working: ${JSON.stringify(await sandboxFrame.evaluate(() => window.cspViolations))}`);
  const direct = `http://127.0.0.1:${streamPort}/stream/novnc/core/rfb.js`;
  const blocked = await frame.evaluate((u) => fetch(u).then(() => false, () => true), direct);
  check(blocked, 'the CSP let the app reach the stream listener directly');
  await until('the violation report', () => sandboxFrame.evaluate((u) => window.cspViolations.some((v) => v.uri.startsWith(u)), `http://127.0.0.1:${streamPort}`));
  await page.evaluate(() => window.teardownApp());

  // ---- start_stream's own result, view_only: the switch stays off
  await call('stop_stream', { sandbox_id: id });
  const viewOnly = await call('start_stream', { sandbox_id: id, view_only: true });
  await page.evaluate((a) => window.renderApp(a), {
    html: app.text, csp, sandboxURL, tool: 'start_stream', toolInput: { sandbox_id: id, view_only: true }, toolResult: viewOnly,
  });
  const f2 = await appFrame(page);
  await screenShows(f2, green);
  check(await f2.locator('#takeover').isDisabled(), 'a view_only stream cannot be taken over');
  check((await page.evaluate(() => window.hostLog.toolCalls)).length === 1, 'no extra tools/call for a stream result');
  // ---- stop_stream: the app says the view ended
  await call('stop_stream', { sandbox_id: id });
  await until('the app to show the end', () => f2.evaluate(() => window.vmdesk.state === 'disconnected'));
  await page.screenshot({ path: path.join(outDir, 'app-ended.png') });
} catch (e) {
  fail(e);
} finally {
  if (id) await call('destroy_sandbox', { sandbox_id: id }).catch(() => {});
  await browser.close();
  await client.close();
  proxy.close();
  hostServer.close();
}
done();

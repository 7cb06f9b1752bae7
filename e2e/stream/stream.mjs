// Live streaming in a real browser: Debian's chromium driven by
// playwright-core, against the real vmservice server over MCP (streamable
// HTTP, the official TypeScript SDK client).
//   node stream.mjs <url of /mcp> <bearer token> <output dir>
// Checks: a missing/wrong key is refused (page and WebSocket); the page shows
// the sandbox's desktop (known root colour read back from the noVNC canvas);
// a click in the page reaches the sandbox when view_only is false and not
// when it is true; stop_stream ends the page. Measures first-frame time and
// bandwidth per quality and writes them to <output dir>/metrics.json.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checks, sleep, browser as launch } from '../lib.mjs';

const [mcpURL, token, outDir] = process.argv.slice(2);
const measureSeconds = Number(process.env.STREAM_MEASURE_SECONDS || 5);
const { check, log, fail, done } = checks('stream');
fs.mkdirSync(outDir, { recursive: true });

const client = new Client({ name: 'vmservice-e2e-stream', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(mcpURL), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
}));
async function call(name, args = {}) {
  const res = await client.callTool({ name, arguments: args });
  if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.structuredContent || res.content)}`);
  return res.structuredContent;
}
async function sh(id, command, extra = {}) {
  const r = await call('run_command', { sandbox_id: id, command, ...extra });
  if (!extra.background && r.exit_code !== 0) throw new Error(`run_command ${command}: ${r.stderr}`);
  return r.stdout;
}
async function mouse(id) {
  const out = await sh(id, 'xdotool getmouselocation --shell');
  const m = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=')));
  return { x: Number(m.X), y: Number(m.Y) };
}

// WebSocket upgrade by hand, to see the HTTP status of a refusal.
function upgradeStatus(wsURL) {
  return new Promise((resolve, reject) => {
    const u = new URL(wsURL.replace(/^ws/, 'http'));
    const req = http.request(u, {
      headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'binary',
      },
    });
    req.on('response', (res) => { let body = ''; res.on('data', (d) => { body += d; }); res.on('end', () => resolve({ status: res.statusCode, body })); });
    req.on('upgrade', (res, socket) => {
      socket.once('data', (d) => { socket.destroy(); resolve({ status: 101, body: d.toString('latin1') }); });
    });
    req.on('error', reject);
    req.end();
  });
}

const browser = await launch();
const metrics = { measure_seconds: measureSeconds, runs: [] };
let id;

// open loads the viewer, counts WebSocket bytes, and waits until the canvas
// shows colour at (x, y) of the remote screen. It returns the page and the
// first-frame time (navigation start to that pixel on the canvas).
async function open(ctx, url, expect) {
  const page = await ctx.newPage();
  const counter = { bytes: 0, frames: 0 };
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    counter.bytes += typeof f.payload === 'string' ? Buffer.byteLength(f.payload) : f.payload.length;
    counter.frames++;
  }));
  const t0 = Date.now();
  const resp = await page.goto(url);
  check(resp.status() === 200, `viewer page status ${resp.status()}`);
  await page.waitForFunction(([r, g, b]) => {
    const c = document.querySelector('#screen canvas');
    if (!c || c.width < 100) return false;
    const d = c.getContext('2d').getImageData(Math.floor(c.width / 2), 5, 1, 1).data;
    return Math.abs(d[0] - r) < 8 && Math.abs(d[1] - g) < 8 && Math.abs(d[2] - b) < 8;
  }, expect, { timeout: 20000, polling: 'raf' });
  return { page, counter, firstFrameMs: Date.now() - t0 };
}

// pageXY maps a remote-screen point to page coordinates (noVNC scales the
// canvas to the window).
async function pageXY(page, rx, ry) {
  return page.evaluate(([x, y]) => {
    const c = document.querySelector('#screen canvas');
    const r = c.getBoundingClientRect();
    return { x: r.left + (x + 0.5) * r.width / c.width, y: r.top + (y + 0.5) * r.height / c.height };
  }, [rx, ry]);
}

try {
  const sb = await call('create_sandbox', { timeout_seconds: 600 });
  id = sb.sandbox_id;
  await sh(id, "xsetroot -solid '#1f7a3d'");
  const green = [0x1f, 0x7a, 0x3d];

  // ---- refusals
  let st = await call('start_stream', { sandbox_id: id, quality: 'medium' });
  check(st.auth_key && st.stream_url.includes(`key=${encodeURIComponent(st.auth_key)}`), 'stream_url carries the key');
  const bare = st.stream_url.split('?')[0];
  const ws = bare.replace(/^http/, 'ws') + 'websockify';
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const p0 = await ctx.newPage();
  let r = await p0.goto(bare);
  check(r.status() === 401, `page without key: ${r.status()}`);
  await p0.screenshot({ path: path.join(outDir, 'no-key.png') });
  r = await p0.goto(bare + '?key=wrong');
  check(r.status() === 403, `page with wrong key: ${r.status()}`);
  await p0.close();
  let u = await upgradeStatus(ws);
  check(u.status === 401 && !u.body.includes('RFB'), `websocket without key: ${u.status}`);
  u = await upgradeStatus(ws + '?key=wrong');
  check(u.status === 403 && !u.body.includes('RFB'), `websocket with wrong key: ${u.status}`);
  u = await upgradeStatus(ws + '?key=' + encodeURIComponent(st.auth_key));
  check(u.status === 101 && u.body.includes('RFB 003.008'), `websocket with key: ${u.status} ${JSON.stringify(u.body.slice(0, 20))}`);

  // ---- the desktop shows, and clicks reach it
  let v = await open(ctx, st.stream_url, green);
  await v.page.screenshot({ path: path.join(outDir, 'desktop.png') });
  const state = await v.page.evaluate(() => window.vmstream.state);
  check(state === 'connected', `viewer state ${state}`);
  // A window that records button presses.
  await sh(id, 'exec xev -geometry 400x300+300+200 -event button > /tmp/xev.log 2>&1', { background: true });
  await sh(id, 'for i in $(seq 50); do xdotool search --name "Event Tester" >/dev/null && exit 0; sleep 0.1; done; exit 1');
  await sleep(500);
  await sh(id, 'xdotool mousemove 10 10');
  let pt = await pageXY(v.page, 500, 350);
  await v.page.mouse.click(pt.x, pt.y);
  let presses = 0;
  for (let i = 0; i < 30 && presses === 0; i++) {
    await sleep(100);
    presses = Number((await sh(id, 'grep -c ButtonPress /tmp/xev.log || true')).trim());
  }
  let m = await mouse(id);
  check(Math.abs(m.x - 500) <= 2 && Math.abs(m.y - 350) <= 2, `pointer after the click is at ${m.x},${m.y}, want 500,350`);
  check(presses >= 1, `the click did not reach the sandbox (ButtonPress count ${presses})`);
  await v.page.screenshot({ path: path.join(outDir, 'after-click.png') });

  // ---- stop_stream ends it: the open viewer disconnects, the URL is dead
  await call('stop_stream', { sandbox_id: id });
  await v.page.waitForFunction(() => window.vmstream.state === 'disconnected', null, { timeout: 10000 })
    .then(() => check(true), () => check(false, 'viewer still connected after stop_stream'));
  r = await (await ctx.newPage()).goto(st.stream_url);
  check(r.status() === 404, `page after stop_stream: ${r.status()}`);
  u = await upgradeStatus(ws + '?key=' + encodeURIComponent(st.auth_key));
  check(u.status === 404, `websocket after stop_stream: ${u.status}`);
  await v.page.close();

  // ---- view_only: clicks do not reach the sandbox
  st = await call('start_stream', { sandbox_id: id, view_only: true });
  check(st.view_only === true, 'view_only echoed');
  v = await open(ctx, st.stream_url, green);
  await sh(id, 'xdotool mousemove 10 10; : > /tmp/xev.log');
  pt = await pageXY(v.page, 500, 350);
  await v.page.mouse.move(pt.x - 20, pt.y - 20);
  await v.page.mouse.click(pt.x, pt.y);
  await v.page.keyboard.type('x');
  await sleep(1000);
  m = await mouse(id);
  presses = Number((await sh(id, 'grep -c ButtonPress /tmp/xev.log || true')).trim());
  check(m.x === 10 && m.y === 10, `view_only: the pointer moved to ${m.x},${m.y}`);
  check(presses === 0, `view_only: ${presses} clicks reached the sandbox`);
  await v.page.close();
  await call('stop_stream', { sandbox_id: id });
  await sh(id, 'pkill -x xev || true');

  // ---- first frame and bandwidth per quality
  // Workloads: "photo" flips full-screen noise images on the root window
  // 4 times a second (worst case); "terminal" scrolls text in an xterm.
  await sh(id, 'for i in 1 2 3; do convert -size 1024x768 plasma:fractal -blur 0x1 /tmp/p$i.png; done', { timeout: 120 });
  const workloads = {
    photo: `end=$((SECONDS+${measureSeconds})); while [ $SECONDS -lt $end ]; do for i in 1 2 3; do display -window root /tmp/p$i.png; sleep 0.25; done; done`,
    terminal: `xterm -geometry 120x45+0+0 -e bash -c 'end=$((SECONDS+${measureSeconds})); while [ $SECONDS -lt $end ]; do ls -l --color=always /usr/bin | head -c 4000; done'`,
  };
  const runs = [['low', 30], ['medium', 30], ['high', 30], ['medium', 5]];
  for (const [quality, fps] of runs) {
    await sh(id, "xsetroot -solid '#1f7a3d'");
    st = await call('start_stream', { sandbox_id: id, quality, frame_rate: fps });
    v = await open(ctx, st.stream_url, green);
    const row = { quality, frame_rate: fps, first_frame_ms: v.firstFrameMs, first_frame_bytes: v.counter.bytes };
    // Bytes for one full-screen image (independent of machine load):
    // show each, then wait until the stream is quiet.
    const quiet = async () => {
      let last = -1;
      for (let i = 0; i < 50 && v.counter.bytes !== last; i++) { last = v.counter.bytes; await sleep(400); }
    };
    await quiet();
    const s0 = v.counter.bytes;
    for (const i of [1, 2, 3]) {
      await sh(id, `display -window root /tmp/p${i}.png || true`); // exits 1 even when it worked
      await quiet();
    }
    row.photo_kbytes_per_screen = Math.round((v.counter.bytes - s0) / 3 / 1024);
    await sh(id, "xsetroot -solid '#1f7a3d'");
    for (const [name, cmd] of Object.entries(workloads)) {
      await sleep(300);
      const b0 = v.counter.bytes;
      const f0 = v.counter.frames;
      const t0 = Date.now();
      await sh(id, cmd, { timeout: measureSeconds + 30 });
      const secs = (Date.now() - t0) / 1000;
      row[`${name}_kbytes_per_s`] = Math.round((v.counter.bytes - b0) / secs / 1024);
      row[`${name}_ws_messages_per_s`] = Math.round((v.counter.frames - f0) / secs);
      if (name === 'photo') { // the last image stays on the root window
        await sleep(500);
        await v.page.screenshot({ path: path.join(outDir, `quality-${quality}-${fps}fps-photo.png`) });
      }
      await sh(id, "xsetroot -solid '#1f7a3d'");
    }
    await v.page.close();
    await call('stop_stream', { sandbox_id: id });
    metrics.runs.push(row);
    log(JSON.stringify(row));
  }
  const by = (q, f) => metrics.runs.find((x) => x.quality === q && x.frame_rate === f);
  const per = (q) => by(q, 30).photo_kbytes_per_screen;
  check(per('low') < per('medium') && per('medium') < per('high'),
    `quality does not change what is sent: KB per full-screen image low ${per('low')}, medium ${per('medium')}, high ${per('high')}`);
  fs.writeFileSync(path.join(outDir, 'metrics.json'), JSON.stringify(metrics, null, 2));
  console.table(metrics.runs);
} catch (e) {
  fail(e);
} finally {
  if (id) await call('destroy_sandbox', { sandbox_id: id }).catch(() => {});
  await browser.close();
  await client.close();
}
done();

// hand_over with the official TypeScript SDK clients answering URL-mode
// elicitation, in both protocol eras: @modelcontextprotocol/sdk 1.x
// (2025-11-25: the server sends elicitation/create on the session) and
// @modelcontextprotocol/client 2.x pinned to 2026-07-28 (multi round-trip:
// the tool answers input_required and the client retries with the answer).
// "The person" is headless chromium (playwright-core) opening the URL the
// elicitation carries.
//   node handover.mjs <url of /mcp> <bearer token> <output dir>
// Checks, per era: the elicitation is URL mode and names the request; the
// page shows it beside the live desktop, in control (a click in the page
// reaches the sandbox); Done on the page ends the call with outcome done
// and the page goes away; a declined elicitation ends it at once; an
// accepted one nobody finishes ends at timeout_seconds (timed_out);
// "I can't do this" on the page is declined; a client without URL-mode
// elicitation gets an isError result with error_code UNSUPPORTED.
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ElicitationCompleteNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import fs from 'node:fs';
import path from 'node:path';
import { checks, until, browser as launch } from '../lib.mjs';

const [mcpURL, token, outDir] = process.argv.slice(2);
const { check, log, fail, done } = checks('handover');
fs.mkdirSync(outDir, { recursive: true });
const headers = { Authorization: `Bearer ${token}` };

// connect makes a client of the given era. policy(params) answers each
// elicitation/create; completions collects notifications/elicitation/complete.
async function connect(era, { elicitation = true, policy = async () => ({ action: 'decline' }) } = {}) {
  const seen = { requests: [], completions: [] };
  const capabilities = elicitation ? { elicitation: { url: {} } } : {};
  let client;
  if (era === 'legacy') {
    client = new LegacyClient({ name: 'e2e-handover-legacy', version: '1.0.0' }, { capabilities });
    if (elicitation) {
      client.setRequestHandler(ElicitRequestSchema, async (req) => { seen.requests.push(req.params); return policy(req.params); });
      client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => { seen.completions.push(n.params.elicitationId); });
    }
    await client.connect(new LegacyTransport(new URL(mcpURL), { requestInit: { headers } }));
  } else {
    client = new ModernClient({ name: 'e2e-handover-modern', version: '1.0.0' },
      { capabilities, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    if (elicitation) {
      client.setRequestHandler('elicitation/create', async (req) => { seen.requests.push(req.params); return policy(req.params); });
    }
    await client.connect(new ModernTransport(new URL(mcpURL), { requestInit: { headers } }));
  }
  return { client, seen };
}

async function call(client, name, args = {}) {
  const res = await client.callTool({ name, arguments: args });
  if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.structuredContent || res.content)}`);
  return res.structuredContent;
}

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });

// The agent's own client (legacy era, no elicitation needed) sets up the
// sandbox and checks it from inside.
const agent = (await connect('legacy', { elicitation: false })).client;
const sb = await call(agent, 'create_sandbox', { timeout_seconds: 900 });
const id = sb.sandbox_id;
async function sh(command, extra = {}) {
  const r = await call(agent, 'run_command', { sandbox_id: id, command, ...extra });
  if (!extra.background && r.exit_code !== 0) throw new Error(`run_command ${command}: ${r.stderr}`);
  return r.stdout;
}
const presses = async () => Number((await sh('grep -c ButtonPress /tmp/xev.log || true')).trim());

// person opens the hand-over page, clicks the desktop (through the framed
// live view), then presses the given button.
async function person(url, button, tag) {
  const page = await ctx.newPage();
  const resp = await page.goto(url);
  check(resp.status() === 200, `hand-over page status ${resp.status()}`);
  const text = await page.locator('header').innerText();
  check(text.includes('Please log in as alice'), `the page shows the request: ${text}`);
  const viewer = page.frameLocator('iframe');
  const before = await presses();
  // The viewer's canvas; noVNC scales the remote screen into it.
  const frame = await until('the live view in the page', () => page.frames().find((f) => f !== page.mainFrame()));
  await frame.waitForFunction(() => window.vmstream?.state === 'connected', null, { timeout: 30000 });
  const canvas = viewer.locator('#screen canvas');
  const box = await canvas.boundingBox();
  const { w, h } = await frame.evaluate(() => { const c = document.querySelector('#screen canvas'); return { w: c.width, h: c.height }; });
  await canvas.click({ position: { x: 500.5 * box.width / w, y: 350.5 * box.height / h } });
  await until('the person\'s click in the sandbox', async () => (await presses()) > before);
  check(true);
  await page.screenshot({ path: path.join(outDir, `handover-${tag}.png`) });
  await page.locator(`button[value=${button}]`).click();
  await page.waitForLoadState();
  const after = await page.locator('h1').innerText();
  check(/agent/.test(after), `answer page: ${after}`);
  await page.close();
}

async function gone(url) {
  const page = await ctx.newPage();
  const resp = await page.goto(url);
  await page.close();
  return resp.status() === 404;
}

const message = 'Please log in as alice on the site that is open (the password is in the vault).';
try {
  await sh("xsetroot -solid '#1f7a3d'");
  await sh('exec xev -geometry 400x300+300+200 -event button > /tmp/xev.log 2>&1', { background: true });
  await sh('for i in $(seq 100); do xdotool search --name "Event Tester" >/dev/null && exit 0; sleep 0.1; done; exit 1');

  for (const era of ['legacy', 'modern']) {
    log(`--- ${era} era`);
    // ---- done on the page
    let personDone;
    const { client, seen } = await connect(era, {
      policy: async (p) => {
        personDone = person(p.url, 'done', era); // the person acts once they accepted
        return { action: 'accept' };
      },
    });
    const t0 = Date.now();
    let r = await call(client, 'hand_over', { sandbox_id: id, message, timeout_seconds: 120 });
    await personDone;
    check(r.outcome === 'done', `${era}: outcome ${JSON.stringify(r)}`);
    check(r.sandbox_id === id && typeof r.handover_id === 'string', `${era}: result ${JSON.stringify(r)}`);
    check(r.waited_seconds >= 0 && r.waited_seconds <= (Date.now() - t0) / 1000 + 1, `${era}: waited ${r.waited_seconds}`);
    check(seen.requests.length === 1, `${era}: ${seen.requests.length} elicitations`);
    const req = seen.requests[0];
    // The URL names the hand-over; the 2026-07-28 client does not hand its
    // handler the elicitationId (the round trip's requestState stands for it).
    check(req.mode === 'url' && req.url.includes(`/stream/handover/${r.handover_id}/`) &&
      (era === 'modern' || req.elicitationId === r.handover_id), `${era}: elicitation ${JSON.stringify(req)}`);
    check(req.message.includes(message), `${era}: the elicitation says what to do: ${req.message}`);
    check(await gone(req.url), `${era}: the page is gone once answered`);
    if (era === 'legacy') {
      await until('elicitation complete notification', () => seen.completions.includes(r.handover_id));
      check(true);
    }
    await client.close();

    // ---- the client declines: over at once, nothing to open
    const d = await connect(era, { policy: async () => ({ action: 'decline' }) });
    r = await call(d.client, 'hand_over', { sandbox_id: id, message, timeout_seconds: 120 });
    check(r.outcome === 'declined', `${era}: declined ${JSON.stringify(r)}`);
    check(await gone(d.seen.requests[0].url), `${era}: a declined request's page is gone`);
    await d.client.close();

    // ---- accepted, nobody finishes: timed out
    const tq = await connect(era, { policy: async () => ({ action: 'accept' }) });
    r = await call(tq.client, 'hand_over', { sandbox_id: id, message, timeout_seconds: 10 });
    check(r.outcome === 'timed_out', `${era}: timeout ${JSON.stringify(r)}`);
    check(await gone(tq.seen.requests[0].url), `${era}: a timed-out request's page is gone`);
    await tq.client.close();

    // ---- no URL-mode elicitation: a typed error
    const no = await connect(era, { elicitation: false });
    const res = await no.client.callTool({ name: 'hand_over', arguments: { sandbox_id: id, message } });
    check(res.isError && res.structuredContent?.error_code === 'UNSUPPORTED',
      `${era}: without elicitation: ${JSON.stringify(res.structuredContent || res.content)}`);
    await no.client.close();
  }

  // ---- "I can't do this" on the page
  let personDone;
  const c = await connect('legacy', { policy: async (p) => { personDone = person(p.url, 'declined', 'cant'); return { action: 'accept' }; } });
  const r = await call(c.client, 'hand_over', { sandbox_id: id, message, timeout_seconds: 120 });
  await personDone;
  check(r.outcome === 'declined', `can't do it: ${JSON.stringify(r)}`);
  await c.client.close();

  // ---- someone else's sandbox is not found (no elicitation is sent)
  const other = await connect('legacy', { policy: async () => { throw new Error('must not be asked'); } });
  const nf = await other.client.callTool({ name: 'hand_over', arguments: { sandbox_id: 'sb_doesnotexist', message } });
  check(nf.isError && nf.structuredContent?.error_code === 'SANDBOX_NOT_FOUND', `unknown sandbox: ${JSON.stringify(nf.structuredContent)}`);
  check(other.seen.requests.length === 0, 'no elicitation for an unknown sandbox');
  await other.client.close();
} catch (e) {
  fail(e);
} finally {
  await call(agent, 'destroy_sandbox', { sandbox_id: id }).catch(() => {});
  await browser.close();
  await agent.close();
}
done();

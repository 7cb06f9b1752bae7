// The container image as an MCP client launches it: the official MCP
// TypeScript SDK client runs `podman run -i --rm FLAGS IMAGE` as its stdio
// server command (what `docker run -i --rm ...` is in a client's config),
// then: tools/list, create a sandbox, click and screenshot (computer), open the live
// stream from outside the container, launch Firefox, destroy.
//   node container.mjs STREAM_BASE_URL -- COMMAND ARGS...
// Prints the time from spawning the command to the first tools/list answer.
// With --unprivileged instead of STREAM_BASE_URL (a container run without
// the privileges README "Container" lists): the server still answers, and
// creating a sandbox fails with BACKEND_UNAVAILABLE naming the flag to add.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [streamBase, sep, command, ...args] = process.argv.slice(2);
assert.equal(sep, '--', 'usage: container.mjs STREAM_BASE_URL -- COMMAND ARGS...');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (m) => console.error(`e2e/container: ${m}`);

const started = performance.now();
const transport = new StdioClientTransport({ command, args, stderr: 'inherit' });
const client = new Client({ name: 'vmservice-e2e-container', version: '1.0.0' });
await client.connect(transport);
const { tools } = await client.listTools();
const firstList = performance.now() - started;
assert.ok(tools.length >= 20, `only ${tools.length} tools listed (the default toolsets)`);
say(`first tools/list answered ${firstList.toFixed(0)} ms after the container command started (${tools.length} tools)`);

async function ok(name, args) {
  const r = await client.callTool({ name, arguments: args });
  assert.ok(!r.isError, `${name}: ${JSON.stringify(r.structuredContent ?? r.content)}`);
  return r;
}
// until polls fn until it returns a truthy value (generous deadline: the
// machine may be busy), and returns it.
async function until(what, fn, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < deadline, `${what}: not within ${seconds} s`);
    await sleep(250);
  }
}

if (streamBase === '--unprivileged') {
  try {
    const r = await client.callTool({ name: 'create_sandbox', arguments: {} });
    assert.equal(r.structuredContent?.error_code, 'BACKEND_UNAVAILABLE', JSON.stringify(r.structuredContent));
    assert.match(r.structuredContent.message, /--cap-add SYS_ADMIN/);
    say(`without the privileges: BACKEND_UNAVAILABLE: ${r.structuredContent.message}`);
  } finally {
    await client.close();
  }
  process.exit(0);
}

try {
  const id = (await ok('create_sandbox', { timeout_seconds: 600 })).structuredContent.sandbox_id;
  assert.match(id, /^sb_/);
  // The image's /etc/machine-id is there to be bound over: each sandbox
  // has one of its own.
  const mid = (await ok('run_command', { sandbox_id: id, command: 'cat /etc/machine-id' })).structuredContent.stdout;
  assert.match(mid, /^[0-9a-f]{32}\n?$/, `the sandbox's machine id: ${JSON.stringify(mid)}`);

  // The default way to drive the desktop: the computer tool.
  await ok('computer', { sandbox_id: id, action: 'left_click', coordinate: [321, 123], screenshot_after: false });
  const pos = await ok('computer', { sandbox_id: id, action: 'cursor_position' });
  assert.deepEqual([pos.structuredContent.x, pos.structuredContent.y], [321, 123], 'the click did not move the pointer there');

  const shot = await ok('computer', { sandbox_id: id, action: 'screenshot' });
  const img = shot.content.find((c) => c.type === 'image');
  assert.ok(img && img.mimeType === 'image/png', 'no PNG in the screenshot');
  assert.equal(Buffer.from(img.data, 'base64').subarray(1, 4).toString(), 'PNG');
  assert.deepEqual([shot.structuredContent.display_width, shot.structuredContent.display_height], [1024, 768]);
  assert.equal(shot.structuredContent.settled, true, 'the screenshot did not wait for a still screen');

  // The stream service listens inside the container; the page must load
  // through the published port, with noVNC's client files from the image.
  const st = (await ok('start_stream', { sandbox_id: id })).structuredContent;
  assert.ok(st.stream_url.startsWith(streamBase), `stream_url ${st.stream_url} is not under ${streamBase}`);
  const page = await fetch(st.stream_url);
  assert.equal(page.status, 200, `stream page: HTTP ${page.status}`);
  const html = await page.text();
  const mod = html.match(/from '([^']*rfb\.js)'/);
  assert.ok(mod, 'the stream page imports no noVNC client');
  const rfb = await fetch(new URL(mod[1], st.stream_url));
  assert.equal(rfb.status, 200, `noVNC client ${mod[1]}: HTTP ${rfb.status}`);
  await ok('stop_stream', { sandbox_id: id });

  // Firefox, the image's browser, starts and maps a window in the sandbox.
  await ok('launch_application', { sandbox_id: id, application: 'firefox' });
  await until('a Firefox window', async () => {
    const w = (await ok('get_application_windows', { sandbox_id: id, application: 'firefox' })).structuredContent;
    return w.window_ids.length > 0;
  });

  const d = (await ok('destroy_sandbox', { sandbox_id: id })).structuredContent;
  assert.equal(d.destroyed, true);
  const gone = await client.callTool({ name: 'get_sandbox_info', arguments: { sandbox_id: id } });
  assert.equal(gone.structuredContent?.error_code, 'SANDBOX_NOT_FOUND');
  say('create_sandbox, click, screenshot, stream page, Firefox, destroy: ok');
} finally {
  await client.close();
}

// The e2e scenario on the official MCP TypeScript SDK client:
//   node sdk-client.mjs stdio <vmservice binary> [server flags...]
//   node sdk-client.mjs http <url of /mcp> <bearer token>
// create a sandbox, launch a terminal, type a command into it (computer),
// screenshot, run_command, write + read a file, destroy: the default tools. The SDK validates every
// structuredContent against the tool's outputSchema (errors included).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [mode, target, ...rest] = process.argv.slice(2);
const fail = (msg) => { console.error(`sdk-client (${mode}): FAIL: ${msg}`); process.exit(1); };
const check = (cond, msg) => { if (!cond) fail(msg); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let transport;
if (mode === 'stdio') {
  transport = new StdioClientTransport({ command: target, args: rest, stderr: 'inherit' });
} else if (mode === 'http') {
  transport = new StreamableHTTPClientTransport(new URL(target), {
    requestInit: { headers: { Authorization: `Bearer ${rest[0]}` } },
  });
} else {
  fail('usage: sdk-client.mjs stdio BIN [flags] | http URL TOKEN');
}

const client = new Client({ name: 'vmservice-e2e-sdk', version: '1.0.0' });
await client.connect(transport);

async function call(name, args = {}, progress) {
  const opts = progress ? { onprogress: progress } : undefined;
  const res = await client.callTool({ name, arguments: args }, undefined, opts);
  return res;
}
async function ok(name, args, progress) {
  const res = await call(name, args, progress);
  check(!res.isError, `${name} failed: ${JSON.stringify(res.content)}`);
  check(res.structuredContent, `${name} has no structuredContent`);
  return res.structuredContent;
}

const { tools } = await client.listTools();
for (const t of ['create_sandbox', 'computer', 'run_actions', 'run_command', 'write_file', 'read_file', 'launch_application']) {
  check(tools.some((x) => x.name === t), `tool ${t} is not listed`);
}
for (const t of tools) {
  check(t.inputSchema.additionalProperties === false, `${t.name}: inputSchema allows additional properties`);
  check(t.annotations && typeof t.annotations.readOnlyHint === 'boolean' && typeof t.annotations.openWorldHint === 'boolean', `${t.name}: hints missing`);
}

let progressed = 0;
const sb = await ok('create_sandbox', { timeout_seconds: 300 }, () => { progressed++; });
check(sb.sandbox_id.startsWith('sb_'), `odd sandbox id ${sb.sandbox_id}`);
const id = sb.sandbox_id;
check(progressed > 0, 'no progress notifications for create_sandbox');

// launch_application answers once the new window is up.
const launched = await ok('launch_application', { sandbox_id: id, application: 'terminal' });
const win = launched.window_id;
check(win, `launch_application: no window: ${JSON.stringify(launched)}`);
const w = await ok('get_application_windows', { sandbox_id: id, application: process.env.E2E_TERMINAL_CLASS || 'xterm' });
check(w.window_ids.includes(win), `the new window ${win} is not the terminal's: ${JSON.stringify(w)}`);
for (let i = 0; i < 40; i++) {
  const cur = await ok('get_current_window_id', { sandbox_id: id });
  if (cur.window_id === win) break;
  await sleep(250);
}
await ok('computer', { sandbox_id: id, action: 'type', text: 'echo sdk-typed > ~/typed.txt', screenshot_after: false });
await ok('computer', { sandbox_id: id, action: 'key', text: 'Return', screenshot_after: false });
let typed = '';
for (let i = 0; i < 40 && typed !== 'sdk-typed\n'; i++) {
  const r = await call('read_file', { sandbox_id: id, path: '~/typed.txt' });
  if (!r.isError) typed = r.content[0].text; // a text file's text is the text block
  else await sleep(250);
}
check(typed === 'sdk-typed\n', `typed command did not run: ${JSON.stringify(typed)}`);

const shot = await call('computer', { sandbox_id: id, action: 'screenshot' });
const img = shot.content.find((c) => c.type === 'image');
check(img && img.mimeType === 'image/png', 'screenshot has no PNG image block');
const png = Buffer.from(img.data, 'base64');
check(png.subarray(1, 4).toString() === 'PNG', 'image is not a PNG');
check(shot.structuredContent.display_width === 1024 && shot.structuredContent.display_height === 768, 'unexpected screenshot size');
check(shot.structuredContent.settled === true, `the screenshot did not wait for a still screen: ${JSON.stringify(shot.structuredContent)}`);

const cmd = await ok('run_command', { sandbox_id: id, command: 'cat /home/user/typed.txt; uname -s' });
check(cmd.exit_code === 0 && cmd.stdout === 'sdk-typed\nLinux\n', `run_command: ${JSON.stringify(cmd)}`);

await ok('write_file', { sandbox_id: id, path: 'notes/hello.txt', content: 'héllo from the SDK' });
const rf = await call('read_file', { sandbox_id: id, path: 'notes/hello.txt' });
check(!rf.isError && rf.content[0].text === 'héllo from the SDK' && rf.structuredContent.size === 19, `read_file: ${JSON.stringify(rf)}`);

// An error is a result with structured content, not an exception.
const bad = await call('get_sandbox_info', { sandbox_id: 'sb_nope' });
check(bad.isError && bad.structuredContent.error_code === 'SANDBOX_NOT_FOUND', `error shape: ${JSON.stringify(bad)}`);

const d = await ok('destroy_sandbox', { sandbox_id: id });
check(d.destroyed === true, 'destroy_sandbox did not destroy');
const gone = await call('get_sandbox_info', { sandbox_id: id });
check(gone.isError, 'sandbox still there after destroy');

if (mode === 'http' && transport.sessionId) await transport.terminateSession();
await client.close();
console.error(`sdk-client (${mode}): OK (protocol ${transport.protocolVersion ?? 'stdio'})`);

// The MCP end-to-end scenario on the e2b backend: the official MCP
// TypeScript SDK client starts `vmservice --backend e2b` over stdio, pointed
// at the E2B emulator, and drives a sandbox through the tools.
// Usage: node mcp.mjs VMSERVICE_BINARY (E2B_* variables in the environment).
import assert from 'node:assert/strict'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'

const bin = process.argv[2]
const transport = new StdioClientTransport({
  command: bin,
  args: ['--backend', 'e2b', '--stream-listen', '127.0.0.1:0', '--log-level', 'warn'],
  env: { ...process.env },
  stderr: 'inherit',
})
const client = new Client({ name: 'e2b-e2e', version: '1.0.0' })
await client.connect(transport)

async function call(name, args) {
  const r = await client.callTool({ name, arguments: args })
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.structuredContent ?? r.content)}`)
  return r
}

// poll calls check until it returns true (30 s at most).
async function poll(what, check) {
  for (const end = Date.now() + 30_000; Date.now() < end;) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${what}: not within 30 s`)
}

try {
  const created = (await call('create_sandbox', { timeout_seconds: 300 })).structuredContent
  const id = created.sandbox_id
  assert.ok(id)
  const info = (await call('get_sandbox_info', { sandbox_id: id })).structuredContent
  assert.equal(info.state, 'running')
  if (process.env.E2E_EXPECT_INPUT_PATH) {
    assert.equal(info.details?.input_path, process.env.E2E_EXPECT_INPUT_PATH, `input path: ${JSON.stringify(info.details)}`)
  }

  const run = (await call('run_command', { sandbox_id: id, command: 'echo from-e2b; uname -s' })).structuredContent
  assert.equal(run.exit_code, 0)
  assert.equal(run.stdout, 'from-e2b\nLinux\n')

  await call('write_file', { sandbox_id: id, path: 'mcp.txt', content: 'written over MCP' })
  // A text file's text is the answer's text block (sent once).
  const read = await call('read_file', { sandbox_id: id, path: 'mcp.txt' })
  assert.equal(read.content[0].text, 'written over MCP')

  // Typed non-ASCII text reaches a terminal's shell through the real envd
  // (it once arrived as "tokNNN-n": no locale in the sandbox).
  await call('launch_application', { sandbox_id: id, application: 'terminal' })
  const ready = async () => (await call('run_command', { sandbox_id: id, command: 'pgrep -x bash -P "$(pgrep -d, -x xterm)"' })).structuredContent.exit_code === 0
  await poll('a shell in the terminal', ready)
  const tok = `tok${process.pid}-Ünï`
  // The default surface drives the desktop through computer alone.
  await call('computer', { sandbox_id: id, action: 'type', text: `echo ${tok} > /home/user/typed.txt\n`, screenshot_after: false })
  await poll('the typed command ran', async () => {
    const r = await client.callTool({ name: 'read_file', arguments: { sandbox_id: id, path: '/home/user/typed.txt' } })
    if (r.isError) return false
    assert.equal(r.content[0].text, tok + '\n')
    return true
  })

  await call('computer', { sandbox_id: id, action: 'left_click', coordinate: [222, 111], screenshot_after: false })
  const pos = (await call('computer', { sandbox_id: id, action: 'cursor_position' })).structuredContent
  assert.deepEqual([pos.x, pos.y], [222, 111])
  assert.deepEqual([pos.display_width, pos.display_height], [1024, 768])

  const shot = await call('computer', { sandbox_id: id, action: 'screenshot' })
  const img = shot.content.find((c) => c.type === 'image')
  assert.ok(img && img.data.length > 1000, 'a screenshot image')
  assert.equal(shot.structuredContent.screenshot.width, 1024)
  assert.equal(typeof shot.structuredContent.settled, 'boolean', 'the answer says whether the screen settled')

  const stream = (await call('start_stream', { sandbox_id: id })).structuredContent
  assert.match(stream.stream_url, /^https:\/\/6080-[^.]+\.e2b\.app\/vnc\.html/)
  assert.ok(stream.auth_key)
  await call('stop_stream', { sandbox_id: id })

  const destroyed = (await call('destroy_sandbox', { sandbox_id: id })).structuredContent
  assert.equal(destroyed.destroyed, true)
  const gone = await client.callTool({ name: 'get_sandbox_info', arguments: { sandbox_id: id } })
  assert.equal(gone.isError, true)
  assert.equal(gone.structuredContent.error_code, 'SANDBOX_NOT_FOUND')
  console.log('MCP over stdio on the e2b backend: create, command, files, Unicode typed into a terminal, click, screenshot, stream, destroy: ok')
} finally {
  await client.close()
}

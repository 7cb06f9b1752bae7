// Drives the E2B emulator with the official E2B JavaScript SDKs, to prove it
// speaks E2B's wire protocol: `e2b` against the control plane and envd at
// explicit local URLs, then `@e2b/desktop` in debug mode (envd only, on
// localhost:49983). Exits non-zero on the first failed check.
import assert from 'node:assert/strict'

const mode = process.argv[2]

async function core() {
  const { Sandbox, CommandExitError } = await import('e2b')
  const sbx = await Sandbox.create('desktop', { timeoutMs: 120_000, metadata: { suite: 'e2e-sdk' }, envs: { GREETING: 'hi' } })
  console.log('created', sbx.sandboxId)
  try {
    const r = await sbx.commands.run('echo hello $GREETING; echo oops >&2')
    assert.equal(r.exitCode, 0)
    assert.equal(r.stdout, 'hello hi\n')
    assert.equal(r.stderr, 'oops\n')

    await assert.rejects(sbx.commands.run('exit 7'), (e) => e instanceof CommandExitError && e.exitCode === 7)

    let streamed = ''
    await sbx.commands.run('for i in 1 2 3; do echo $i; sleep 0.1; done', { onStdout: (d) => { streamed += d } })
    assert.equal(streamed, '1\n2\n3\n')

    const bg = await sbx.commands.run('sleep 60', { background: true })
    assert.ok(bg.pid > 0)
    await bg.kill()

    const withStdin = await sbx.commands.run('read line; echo got:$line', { background: true, stdin: true })
    await sbx.commands.sendStdin(withStdin.pid, 'piped\n')
    const done = await withStdin.wait()
    assert.equal(done.stdout, 'got:piped\n')

    await sbx.files.write('/home/user/notes/hello.txt', 'hello from the SDK')
    assert.equal(await sbx.files.read('/home/user/notes/hello.txt'), 'hello from the SDK')
    await sbx.files.write('/home/user/zipped.txt', 'gzip body '.repeat(100), { gzip: true })
    assert.equal(await sbx.files.read('/home/user/zipped.txt'), 'gzip body '.repeat(100))
    await sbx.files.write('relative.txt', 'rel')
    assert.equal(await sbx.files.read('/home/user/relative.txt'), 'rel')
    const bytes = await sbx.files.read('/home/user/notes/hello.txt', { format: 'bytes' })
    assert.equal(bytes.length, 18)
    const entries = await sbx.files.list('/home/user/notes')
    assert.deepEqual(entries.map((e) => [e.name, e.type, e.size]), [['hello.txt', 'file', 18]])
    assert.equal(await sbx.files.exists('/home/user/notes/hello.txt'), true)
    assert.equal(await sbx.files.exists('/home/user/nope.txt'), false)
    assert.equal(await sbx.files.makeDir('/home/user/newdir'), true)
    assert.equal(await sbx.files.makeDir('/home/user/newdir'), false)
    const info = await sbx.files.getInfo('/home/user/newdir')
    assert.equal(info.type, 'dir')
    await sbx.files.remove('/home/user/newdir')
    assert.equal(await sbx.files.exists('/home/user/newdir'), false)

    const listed = await Sandbox.list({ query: { metadata: { suite: 'e2e-sdk' } } }).nextItems()
    assert.deepEqual(listed.map((s) => s.sandboxId), [sbx.sandboxId])
    await sbx.setTimeout(60_000)
    const got = await sbx.getInfo()
    assert.equal(got.sandboxId, sbx.sandboxId)
    assert.equal(got.metadata.suite, 'e2e-sdk')
    assert.equal(await sbx.isRunning(), true)
  } finally {
    assert.equal(await sbx.kill(), true)
  }
  const after = await Sandbox.list({ query: { metadata: { suite: 'e2e-sdk' } } }).nextItems()
  assert.equal(after.length, 0)
  console.log('e2b SDK: control plane, commands, stdin, files: ok')
}

async function desktop() {
  const { Sandbox } = await import('@e2b/desktop')
  // Debug mode: no control plane; Xvfb and the xfce4 session are started
  // by the SDK itself through envd, as on E2B's desktop template.
  const d = await Sandbox.create({ resolution: [1024, 768] })
  const png = await d.screenshot()
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const view = new DataView(png.buffer, png.byteOffset)
  assert.equal(view.getUint32(16), 1024)
  assert.equal(view.getUint32(20), 768)
  await d.leftClick(100, 120)
  assert.deepEqual(await d.getCursorPosition(), { x: 100, y: 120 })
  await d.rightClick(300, 200)
  await d.press('escape')
  assert.deepEqual(await d.getScreenSize(), { width: 1024, height: 768 })
  await d.moveMouse(10, 10)
  await d.scroll('down', 2)
  await d.write('hello')
  console.log('@e2b/desktop: screenshot', png.length, 'bytes, click, cursor, keys: ok')
  await d.kill()
}

if (mode === 'core') await core()
else if (mode === 'desktop') await desktop()
else throw new Error('usage: sdk.mjs core|desktop')

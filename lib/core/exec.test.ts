// The runner starts programs from argv arrays with no shell in between: a value with shell syntax reaches the
// program verbatim, no `sh`/`bash` is ever started for it, stdin input and streamed stdin work, a missing program is
// exit 127 under nothrow (as a shell answered before) and a CommandError otherwise.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { run, which } from './exec.ts'
import { CommandError } from './errors.ts'

test('no shell: shell syntax in a value reaches the program verbatim and runs nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-exec-'))
  try {
    const hostile = `x;touch ${join(dir, 'A')} $(touch ${join(dir, 'B')}) \`touch ${join(dir, 'C')}\` | true && echo 'q"' \\ $'\\x41'`
    const r = await run('printf', ['%s', hostile])
    assert.equal(r.stdout, hostile)
    assert.deepEqual(['A', 'B', 'C'].filter((f) => existsSync(join(dir, f))), [])
    assert.equal((await run('cat', [], { input: 'from stdin\n' })).stdout, 'from stdin\n')
    assert.equal((await run('cat', [], { stdin: Readable.from([Buffer.from('streamed')]) })).stdout, 'streamed')
    assert.equal((await run('sh', ['-c', 'exit 3'], { nothrow: true })).exitCode, 3)
    assert.deepEqual(await run('no-such-program-stackyard', [], { nothrow: true }), { exitCode: 127, stdout: '', stderr: 'no-such-program-stackyard: command not found' })
    await assert.rejects(run('no-such-program-stackyard', []), CommandError)
    assert.equal(await which('sh'), true)
    assert.equal(await which('no-such-program-stackyard'), false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('no shell is started for a command: a bash or sh first on PATH is never called', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-exec-'))
  try {
    const log = join(dir, 'shell.log')
    for (const shell of ['bash', 'sh']) {
      writeFileSync(join(dir, shell), `#!/bin/dash\necho ${shell} "$@" >> ${log}\nexec /bin/${shell} "$@"\n`)
      chmodSync(join(dir, shell), 0o755)
    }
    const script = `import { run } from ${JSON.stringify(join(import.meta.dirname, 'exec.ts'))}\nconst r = await run('printf', ['%s', 'ok'])\nprocess.stdout.write(r.stdout)\n`
    writeFileSync(join(dir, 'probe.mts'), script)
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH}` }
    delete env.NODE_OPTIONS
    const out = execFileSync(process.execPath, ['--import=#boot', join(dir, 'probe.mts')], { env, encoding: 'utf8' })
    assert.equal(out, 'ok')
    assert.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '', 'a shell was started')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

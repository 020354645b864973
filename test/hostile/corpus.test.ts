// The hostile-input corpus: every case under cases/ is run through its task in a fresh copy of the repository; each
// must exit with its code and one clear line, change no file, print no secret, and never hang.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, statSync, readFileSync, existsSync, lstatSync } from 'node:fs'
import { join } from 'node:path'
import { tempRepo } from '../helpers/repo.ts'
import type { HostileCase } from './case.ts'

const dir = join(import.meta.dirname, 'cases')
const cases: Array<{ file: string; c: HostileCase }> = []
for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts')).sort()) {
  const mod = (await import(join(dir, f))) as { cases: HostileCase[] }
  for (const c of mod.cases) cases.push({ file: f, c })
}

function snapshot(root: string, paths: string[]): Map<string, string> {
  const m = new Map<string, string>()
  for (const p of paths) {
    const abs = join(root, p)
    if (!existsSync(abs) && !isLink(abs)) { m.set(p, 'absent'); continue }
    const st = lstatSync(abs)
    m.set(p, st.isFile() ? `${st.mode.toString(8)}:${readFileSync(abs).toString('base64')}` : `${st.mode.toString(8)}:${st.isSymbolicLink() ? 'link' : 'other'}`)
  }
  return m
}
const isLink = (p: string) => { try { return lstatSync(p).isSymbolicLink() } catch { return false } }

for (const { file, c } of cases) {
  test(`hostile (${file}): ${c.name}`, async () => {
    const repo = tempRepo()
    try {
      for (const [p, content] of Object.entries(c.files ?? {})) repo.write(p, content as string, /(^|\/)\.env/.test(p) ? 0o600 : undefined)
      const extraEnv = (await c.setup?.(repo)) ?? {}
      const watched = c.unchanged ?? Object.keys(c.files ?? {})
      const before = snapshot(repo.root, watched)
      // a case that could block the process (a FIFO, a device, a runaway pattern) says so with timeoutMs and runs as a
      // process that is killed then; every other case runs in-process and must end within 30 s
      const limit = c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : { deadlineMs: 30_000 }
      const r = await repo.run(c.task, c.args ?? [], { env: { ...c.env, ...extraEnv }, input: c.input, ...limit })
      const out = r.stdout + r.stderr
      assert.equal(r.code, c.expect.code, `exit code\n${out}`)
      const errLine = r.stderr.split('\n').find((l) => l.startsWith('✖')) ?? ''
      assert.match(errLine, c.expect.message, `the error line\n${out}`)
      assert.doesNotMatch(out, /unexpected error|\n\s+at .+:\d+:\d+\)?\n/, `no stack trace, no "unexpected error"\n${out}`)
      for (const s of c.secrets ?? []) assert.ok(!out.includes(s), `a secret was printed: ${s.slice(0, 4)}…\n${out}`)
      assert.deepEqual(snapshot(repo.root, watched), before, 'a file changed')
    } finally {
      await c.teardown?.()
      repo.cleanup()
    }
  })
}

test('the hostile corpus is not empty', () => {
  assert.ok(cases.length > 0)
  void statSync(dir)
})

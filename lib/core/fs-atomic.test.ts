// Tests for lib/core/fs-atomic.ts: content, exact modes whatever the umask, one backup, no-ops, no temp files left.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFileAtomic, writeTempSibling } from './fs-atomic.ts'
import { ConfigError } from './errors.ts'

const tempDir = () => mkdtempSync(join(tmpdir(), 'stackyard-fs-atomic-'))
const modeOf = (path: string) => statSync(path).mode & 0o777
const leftovers = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.tmp'))

async function withUmask<T>(umask: number, fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(umask)
  try {
    return await fn()
  } finally {
    process.umask(previous)
  }
}

test('writes the content with exactly the requested mode, whatever the umask', async () => {
  const dir = tempDir()
  const a = join(dir, 'a.env')
  const b = join(dir, 'b.env')
  assert.deepEqual(await withUmask(0, () => writeFileAtomic(a, 'A="1"\n', { mode: 0o600 })), { changed: true })
  assert.equal(readFileSync(a, 'utf8'), 'A="1"\n')
  assert.equal(modeOf(a), 0o600)
  await withUmask(0o077, () => writeFileAtomic(b, 'x', { mode: 0o644 }))
  assert.equal(modeOf(b), 0o644)
  assert.deepEqual(leftovers(dir), [])
})

test('the temp file is created with the target mode from the start, never wider', async () => {
  const dir = tempDir()
  const seen: number[] = []
  class Observed extends Array<string> {
    push(...paths: string[]): number {
      for (const p of paths) seen.push(modeOf(p)) // observed right after open(), before any chmod
      return super.push(...paths)
    }
  }
  const created = new Observed()
  const tmp = await withUmask(0, () => writeTempSibling(join(dir, 'secret.env'), 'TOKEN="s"', 0o600, created))
  assert.deepEqual(seen, [0o600])
  assert.equal(modeOf(tmp), 0o600)
  assert.equal(readFileSync(tmp, 'utf8'), 'TOKEN="s"')
  assert.match(tmp, new RegExp(`/\\.secret\\.env\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`), 'the writing process owns its temp file by name')
})

test('keeps the existing mode when none is given', async () => {
  const dir = tempDir()
  const path = join(dir, 'f')
  writeFileSync(path, 'old')
  chmodSync(path, 0o640)
  await withUmask(0o022, () => writeFileAtomic(path, 'new'))
  assert.deepEqual([readFileSync(path, 'utf8'), modeOf(path)], ['new', 0o640])
})

test('keeps one backup of the previous content, with the target mode, replaced each time', async () => {
  const dir = tempDir()
  const path = join(dir, '.env')
  assert.deepEqual(await writeFileAtomic(path, 'v1', { mode: 0o600, backup: true }), { changed: true })
  assert.deepEqual(readdirSync(dir), ['.env'], 'nothing to back up on creation')
  chmodSync(path, 0o644)
  assert.deepEqual(await writeFileAtomic(path, 'v2', { mode: 0o600, backup: true }), { changed: true, backupPath: `${path}.bak` })
  assert.deepEqual([readFileSync(`${path}.bak`, 'utf8'), modeOf(`${path}.bak`), modeOf(path)], ['v1', 0o600, 0o600])
  await writeFileAtomic(path, 'v3', { backup: true })
  assert.deepEqual([readFileSync(path, 'utf8'), readFileSync(`${path}.bak`, 'utf8')], ['v3', 'v2'])
  assert.deepEqual(readdirSync(dir).sort(), ['.env', '.env.bak'])
})

test('identical content is a no-op that still corrects the mode', async () => {
  const dir = tempDir()
  const path = join(dir, 'f')
  writeFileSync(path, 'same')
  chmodSync(path, 0o644)
  const before = statSync(path)
  assert.deepEqual(await writeFileAtomic(path, 'same', { backup: true }), { changed: false })
  assert.deepEqual(await writeFileAtomic(path, 'same', { mode: 0o600, backup: true }), { changed: false })
  const after = statSync(path)
  assert.equal(after.ino, before.ino, 'not replaced')
  assert.equal(after.mode & 0o777, 0o600)
  assert.deepEqual(readdirSync(dir), ['f'], 'no backup for a no-op')
})

test('a failure leaves the target unchanged and no temp file behind', async () => {
  const dir = tempDir()
  const path = join(dir, '.env')
  writeFileSync(path, 'original')
  mkdirSync(join(dir, '.env.bak', 'occupied'), { recursive: true }) // the backup cannot be renamed over a directory
  await assert.rejects(writeFileAtomic(path, 'new', { backup: true }), { code: 'EISDIR' })
  assert.equal(readFileSync(path, 'utf8'), 'original')
  assert.deepEqual(leftovers(dir), [])
  await assert.rejects(writeFileAtomic(join(dir, 'missing-dir', 'f'), 'x'), { code: 'ENOENT' })
  assert.deepEqual(readdirSync(dir).sort(), ['.env', '.env.bak'])
})

test('a concurrent reader sees the old or the new content, never a partial file', async () => {
  const dir = tempDir()
  const path = join(dir, 'big')
  const versions = ['a'.repeat(1 << 20), 'b'.repeat(1 << 19) + '\n']
  await writeFileAtomic(path, versions[0])
  let done = false
  const reads: string[] = []
  const reader = (async () => {
    while (!done) reads.push(await readFile(path, 'utf8'))
  })()
  for (let i = 1; i <= 20; i++) await writeFileAtomic(path, versions[i % 2])
  done = true
  await reader
  assert.ok(reads.length > 0)
  for (const r of reads) assert.ok(r === versions[0] || r === versions[1], `partial read of ${r.length} bytes`)
  assert.deepEqual(leftovers(dir), [])
})

test('a temp file is private (0600) before any byte is written, even for a wider target mode', async () => {
  const dir = tempDir()
  const seen: number[] = []
  class Observed extends Array<string> {
    push(...paths: string[]): number {
      for (const p of paths) seen.push(modeOf(p)) // right after open(), before the content
      return super.push(...paths)
    }
  }
  const tmp = await withUmask(0, () => writeTempSibling(join(dir, '.env.bak'), 'TOKEN="s"', 0o644, new Observed()))
  assert.deepEqual(seen, [0o600])
  assert.equal(modeOf(tmp), 0o644, 'the requested mode once written')
  const fresh = await withUmask(0, () => writeTempSibling(join(dir, 'plain'), 'x', undefined, new Observed()))
  assert.deepEqual(seen, [0o600, 0o600])
  assert.equal(modeOf(fresh), 0o666, 'no mode: 0666 less the umask, once written')
})

test('temp files of interrupted writes of the target or its backup are swept by the next write, live owners kept', async () => {
  const dir = tempDir()
  const path = join(dir, '.env')
  writeFileSync(path, 'old', { mode: 0o600 })
  const dead = spawnSync(process.execPath, ['-e', '']).pid
  const stale = ['..env.0123456789ab.tmp', `..env.bak.${dead}.abcdef012345.tmp`, `..env.${dead}.fedcba987654.tmp`]
  const kept = [`..env.${process.ppid}.00000000aaaa.tmp`, '..env.infisical.0123456789ab.tmp', '.other.0123456789ab.tmp', '..env.notatemp.tmp']
  for (const n of [...stale, ...kept]) writeFileSync(join(dir, n), 'SECRET="s"', { mode: 0o600 })
  const swept: string[] = []
  await writeFileAtomic(path, 'new', { backup: true, onSwept: (p) => swept.push(...p) })
  assert.deepEqual(swept.sort(), stale.map((n) => join(dir, n)).sort())
  assert.deepEqual(readdirSync(dir).sort(), ['.env', '.env.bak', ...kept].sort())
  // nothing to sweep: not called
  await writeFileAtomic(path, 'newer', { onSwept: () => assert.fail('nothing was swept') })
})

test('a symbolic link is written through: the target gets the content (backup beside it), the link stays', async () => {
  const dir = tempDir()
  mkdirSync(join(dir, 'vault'))
  mkdirSync(join(dir, 'repo'))
  writeFileSync(join(dir, 'vault', 'real.env'), 'A="old"\n', { mode: 0o600 })
  symlinkSync('../vault/real.env', join(dir, 'repo', '.env'))
  assert.deepEqual(await writeFileAtomic(join(dir, 'repo', '.env'), 'A="new"\n', { backup: true }), { changed: true, backupPath: join(dir, 'vault', 'real.env.bak') })
  assert.ok(lstatSync(join(dir, 'repo', '.env')).isSymbolicLink(), 'the link is kept')
  assert.equal(readlinkSync(join(dir, 'repo', '.env')), '../vault/real.env')
  assert.equal(readFileSync(join(dir, 'vault', 'real.env'), 'utf8'), 'A="new"\n')
  assert.equal(readFileSync(join(dir, 'vault', 'real.env.bak'), 'utf8'), 'A="old"\n')
  assert.deepEqual([modeOf(join(dir, 'vault', 'real.env')), modeOf(join(dir, 'vault', 'real.env.bak'))], [0o600, 0o600])
  assert.deepEqual(readdirSync(join(dir, 'repo')), ['.env'], 'no second copy beside the link')
  assert.deepEqual(leftovers(join(dir, 'vault')), [])
})

test('a dangling symbolic link, or one to a folder, is refused, nothing written', async () => {
  const dir = tempDir()
  symlinkSync('missing.env', join(dir, '.env'))
  await assert.rejects(writeFileAtomic(join(dir, '.env'), 'A="1"\n', { mode: 0o600, backup: true }), (err: unknown) => err instanceof ConfigError && /symbolic link to .*missing\.env, which does not exist/.test(err.message))
  assert.deepEqual(readdirSync(dir), ['.env'])
  assert.ok(lstatSync(join(dir, '.env')).isSymbolicLink())
  mkdirSync(join(dir, 'folder'))
  symlinkSync('folder', join(dir, 'linked'))
  await assert.rejects(writeFileAtomic(join(dir, 'linked'), 'A="1"\n', { backup: true }), (err: unknown) => err instanceof ConfigError && /symbolic link to .*folder, which is not a regular file/.test(err.message))
  assert.deepEqual(readdirSync(dir).sort(), ['.env', 'folder', 'linked'])
  assert.deepEqual(readdirSync(join(dir, 'folder')), [])
})

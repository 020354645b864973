// Tests for lib/fs-atomic.ts: content, exact modes whatever the umask, one backup, no-ops, no temp files left.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFileAtomic, writeTempSibling } from './fs-atomic.ts'

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
  assert.match(tmp, /\/\.secret\.env\.[0-9a-f]{12}\.tmp$/)
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

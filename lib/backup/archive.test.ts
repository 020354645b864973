// The backup archive format: tar + gzip round trip (names, sizes, checksums, large names), encryption with a
// passphrase (wrong passphrase and any changed byte refused), unsafe paths refused, truncation detected; every entry
// checked against the index while it streams (unlisted, resized, changed, missing, expanding, trailing data), nothing
// written before that; a directory or a FIFO given as the archive refused without hanging.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGzip } from 'node:zlib'
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ArchiveError, MAGIC, openArchive, safeName, tarHeader, writeArchive, type ArchiveIndex, type EntrySource, type IndexedEntry } from './archive.ts'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const FAST = { log2N: 10, r: 8, p: 1 }

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'stackyard-archive-'))
}

/** A test index: index.json first, listing every other file with its size and sha256. */
const INDEX: ArchiveIndex = {
  name: 'index.json',
  label: 'the index',
  maxBytes: 64 * 1024,
  read: (bytes) => new Map(Object.entries(JSON.parse(bytes.toString('utf8')) as Record<string, IndexedEntry>)),
}
function indexed(files: Record<string, Buffer>, list: Record<string, Buffer> = files): EntrySource[] {
  const index = Object.fromEntries(Object.entries(list).map(([n, b]) => [n, { size: b.length, sha256: sha(b) }]))
  return [{ name: 'index.json', source: Buffer.from(JSON.stringify(index)) }, ...Object.entries(files).map(([name, source]) => ({ name, source }))]
}
async function scanInto(path: string, dir?: string, passphrase?: string) {
  const a = await openArchive(path, passphrase === undefined ? {} : { passphrase: async () => passphrase })
  try {
    if (dir) mkdirSync(dir, { recursive: true })
    return { encrypted: a.encrypted, ...(await a.scan({ index: INDEX, keep: (n) => n === 'small', extractTo: dir ? (n) => join(dir, n.replace(/\//g, '__')) : undefined })) }
  } finally {
    await a.close()
  }
}

test('tar.gz round trip: files from disk and from memory, binary content, a name longer than 100 bytes; the system tar reads it too', async () => {
  const dir = tmp()
  try {
    const big = randomBytes(700_001)
    writeFileSync(join(dir, 'big.bin'), big)
    const long = `data/${'stack'.repeat(12)}/${'service'.repeat(8)}/dump.sql`
    const files = { 'data/infrastructure/valkey/dump.rdb': big, [long]: Buffer.from('SELECT 1;\n'), empty: Buffer.alloc(0), small: Buffer.from('KEY=value\n') }
    const dest = join(dir, 'out.tar.gz')
    const sources = indexed(files)
    sources[1] = { name: 'data/infrastructure/valkey/dump.rdb', source: join(dir, 'big.bin') }
    const r = await writeArchive(dest, sources)
    assert.equal(statSync(dest).mode & 0o777, 0o600, 'mode 0600 from the start')
    assert.equal(r.sha256, sha(readFileSync(dest)))
    const listed = execFileSync('tar', ['-tzf', dest], { encoding: 'utf8' }).trim().split('\n')
    assert.deepEqual(listed, ['index.json', 'data/infrastructure/valkey/dump.rdb', long, 'empty', 'small'])
    const into = join(dir, 'x')
    const out = await scanInto(dest, into)
    assert.equal(out.encrypted, false)
    assert.deepEqual([...out.entries].map(([n, e]) => [n, e.size]), [['data/infrastructure/valkey/dump.rdb', big.length], [long, 10], ['empty', 0], ['small', 10]])
    assert.ok(readFileSync(out.extracted.get('data/infrastructure/valkey/dump.rdb')!).equals(big))
    assert.equal(statSync(out.extracted.get('empty')!).mode & 0o777, 0o600)
    assert.deepEqual(out.kept.get('small'), files.small, 'kept in memory')
    // a verifying pass without extractTo writes nothing
    const again = await scanInto(dest)
    assert.equal(again.extracted.size, 0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('encrypted: the header names the format; the right passphrase restores the bytes; a wrong one or any changed byte is an ArchiveError', async () => {
  const dir = tmp()
  try {
    const dest = join(dir, 'out.tar.gz.enc')
    const payload = randomBytes(50_000)
    await writeArchive(dest, indexed({ f: payload }), { passphrase: 'correct horse battery', kdf: FAST })
    const header = readFileSync(dest).subarray(0, 39)
    assert.ok(header.subarray(0, 8).equals(MAGIC) && header[8] === 10)
    assert.doesNotMatch(readFileSync(dest).toString('latin1'), /ustar/, 'no plaintext tar inside')
    const ok = await scanInto(dest, join(dir, 'ok'), 'correct horse battery')
    assert.equal(ok.encrypted, true)
    assert.ok(readFileSync(ok.extracted.get('f')!).equals(payload))
    await assert.rejects(scanInto(dest, join(dir, 'wrong'), 'wrong horse battery'), (e: Error) => e instanceof ArchiveError && /passphrase is wrong or the archive was changed/.test(e.message))
    await assert.rejects(scanInto(dest), /encrypted and no passphrase/)
    for (const at of [5, 20, 60, statSync(dest).size - 3]) {
      const bytes = readFileSync(dest)
      bytes[at] ^= 0x01
      const bad = join(dir, `bad-${at}.enc`)
      writeFileSync(bad, bytes)
      await assert.rejects(scanInto(bad, undefined, 'correct horse battery'), ArchiveError, `byte ${at}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('unsafe entry paths, foreign files and truncated archives are refused', async () => {
  for (const n of ['/etc/passwd', '../x', 'a/../../x', 'a\\b', '']) assert.throws(() => safeName(n), ArchiveError, n)
  assert.equal(safeName('data/a/b.sql'), 'data/a/b.sql')
  assert.throws(() => tarHeader(`${'x'.repeat(200)}/y`, 1, 0), /too long/)
  const dir = tmp()
  try {
    writeFileSync(join(dir, 'not.tar.gz'), 'hello')
    await assert.rejects(scanInto(join(dir, 'not.tar.gz')), /not a valid gzip-compressed backup archive/)
    const dest = join(dir, 'ok.tar.gz')
    await writeArchive(dest, indexed({ f: randomBytes(10_000) }))
    writeFileSync(join(dir, 'cut.tar.gz'), readFileSync(dest).subarray(0, 200))
    await assert.rejects(scanInto(join(dir, 'cut.tar.gz')), ArchiveError)
    await assert.rejects(scanInto(join(dir, 'missing.tar.gz')), /cannot read .*ENOENT/)
    // an archive made by another tool with an absolute path inside
    execFileSync('tar', ['-czf', join(dir, 'evil.tar.gz'), '-P', join(dir, 'ok.tar.gz')])
    await assert.rejects(scanInto(join(dir, 'evil.tar.gz')), /unsafe path|does not start with index\.json|not a regular file/)
    // a directory and a FIFO given as the archive: refused at once (a FIFO with no writer would block a plain open)
    await assert.rejects(scanInto(dir), /is a directory, not an archive file/)
    execFileSync('mkfifo', [join(dir, 'fifo.tar.gz')])
    await assert.rejects(scanInto(join(dir, 'fifo.tar.gz')), /is a FIFO, not an archive file/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('every entry is checked against the index while it streams: unlisted, resized, changed, twice, missing, not first', async () => {
  const dir = tmp()
  try {
    const a = Buffer.from('aaa')
    const b = Buffer.from('bbb')
    const cases: Array<[string, EntrySource[], RegExp]> = [
      ['unlisted', indexed({ a, 'evil.sh': Buffer.from('echo hi') }, { a }), /evil\.sh: not in the index/],
      ['resized', indexed({ a: Buffer.from('aaaa') }, { a }), /a: 4 bytes, the index says 3/],
      ['changed', indexed({ a: b }, { a }), /a: sha256 [0-9a-f]{12}…, the index says [0-9a-f]{12}…/],
      ['twice', [...indexed({ a }), { name: 'a', source: a }], /a: twice in the archive/],
      ['missing', indexed({ a }, { a, b }), /b: listed in the index, missing from the archive/],
      ['not first', [{ name: 'a', source: a }, ...indexed({}, { a })], /does not start with index\.json/],
    ]
    for (const [name, sources, why] of cases) {
      const path = join(dir, `${name.replace(' ', '-')}.tar.gz`)
      await writeArchive(path, sources)
      const into = join(dir, `x-${name.replace(' ', '-')}`)
      await assert.rejects(scanInto(path, into), (e: Error) => e instanceof ArchiveError && why.test(e.message), name)
      // a resized or unlisted entry is refused at its header: not one byte of it is written (an extracting pass
      // comes only after a verifying one, see lib/backup/restore.ts)
      if (name === 'unlisted') assert.ok(!readdirSync(into).includes('evil.sh'), name)
      if (name === 'resized' || name === 'not first') assert.deepEqual(readdirSync(into), [], name)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('an expanding archive is refused while it streams, before anything is written: a big unlisted or mis-hashed entry, trailing data', async () => {
  const dir = tmp()
  try {
    // 64 MiB of zeros compresses to ~64 kB: listed with its size but a wrong sha256, and unlisted
    const zeros = (n: number) => ({ name: 'big', source: Buffer.alloc(n) })
    const lying = join(dir, 'lying.tar.gz')
    await writeArchive(lying, [{ name: 'index.json', source: Buffer.from(JSON.stringify({ big: { size: 64 * 2 ** 20, sha256: 'f'.repeat(64) } })) }, zeros(64 * 2 ** 20)])
    assert.ok(statSync(lying).size < 200_000, 'a small archive')
    const into = join(dir, 'x')
    mkdirSync(into)
    const a = await openArchive(lying)
    // a verifying pass (no extractTo) writes nothing at all
    await assert.rejects(a.scan({ index: INDEX }), /big: sha256/)
    await a.close()
    assert.deepEqual(readdirSync(into), [])
    const unlisted = join(dir, 'unlisted.tar.gz')
    await writeArchive(unlisted, [{ name: 'index.json', source: Buffer.from('{}') }, zeros(64 * 2 ** 20)])
    const started = Date.now()
    await assert.rejects(scanInto(unlisted, into), /big: not in the index/)
    assert.ok(Date.now() - started < 2000, 'refused at its header, not after reading it')
    assert.deepEqual(readdirSync(into), [])
    // a valid archive followed by 64 MiB of zeros (or by anything not zero) inside the gzip stream
    const tarBytes = async (sources: EntrySource[]) => {
      const p = join(dir, 'plain.tar.gz')
      await writeArchive(p, sources)
      return execFileSync('gzip', ['-dc', p])
    }
    const body = await tarBytes(indexed({ a: Buffer.from('a') }))
    for (const [name, tail, why] of [['zeros', Buffer.alloc(64 * 2 ** 20), /data after the end|expands to more than/], ['junk', Buffer.from('#!/bin/sh\n'), /data after the end/]] as const) {
      const path = join(dir, `${name}.tar.gz`)
      await pipeline(Readable.from([body, tail]), createGzip(), createWriteStream(path))
      await assert.rejects(scanInto(path), why, name)
    }
    // the index itself is bounded
    const huge = join(dir, 'huge-index.tar.gz')
    await writeArchive(huge, [{ name: 'index.json', source: Buffer.alloc(INDEX.maxBytes + 1, 0x20) }])
    await assert.rejects(scanInto(huge), /index\.json is 65537 bytes, more than the 65536/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

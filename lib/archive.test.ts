// The backup archive format: tar + gzip round trip (names, sizes, checksums, large names), encryption with a
// passphrase (wrong passphrase and any changed byte refused), unsafe paths refused, truncation detected.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { ArchiveError, encryptionHeader, readArchive, safeName, tarHeader, writeArchive } from './archive.ts'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const FAST = { log2N: 10, r: 8, p: 1 }

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'stackyard-archive-'))
}

test('tar.gz round trip: files from disk and from memory, binary content, a name longer than 100 bytes; the system tar reads it too', async () => {
  const dir = tmp()
  try {
    const big = randomBytes(700_001)
    writeFileSync(join(dir, 'big.bin'), big)
    const long = `data/${'stack'.repeat(12)}/${'service'.repeat(8)}/dump.sql`
    const dest = join(dir, 'out.tar.gz')
    const r = await writeArchive(dest, [
      { name: 'manifest.json', source: Buffer.from('{"a":1}\n') },
      { name: 'data/infrastructure/valkey/dump.rdb', source: join(dir, 'big.bin') },
      { name: long, source: Buffer.from('SELECT 1;\n') },
      { name: 'empty', source: Buffer.alloc(0) },
    ])
    assert.equal(statSync(dest).mode & 0o777, 0o600, 'mode 0600 from the start')
    assert.equal(r.sha256, sha(readFileSync(dest)))
    const listed = execFileSync('tar', ['-tzf', dest], { encoding: 'utf8' }).trim().split('\n')
    assert.deepEqual(listed, ['manifest.json', 'data/infrastructure/valkey/dump.rdb', long, 'empty'])
    const into = join(dir, 'x')
    const { entries, encrypted } = await readArchive(dest, into)
    assert.equal(encrypted, false)
    assert.deepEqual(entries.map((e) => [e.name, e.size]), [['manifest.json', 8], ['data/infrastructure/valkey/dump.rdb', big.length], [long, 10], ['empty', 0]])
    assert.equal(entries[1].sha256, sha(big))
    assert.ok(readFileSync(entries[1].path).equals(big))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('encrypted: the header names the format; the right passphrase restores the bytes; a wrong one or any changed byte is an ArchiveError', async () => {
  const dir = tmp()
  try {
    const dest = join(dir, 'out.tar.gz.enc')
    const payload = randomBytes(50_000)
    await writeArchive(dest, [{ name: 'f', source: payload }], { passphrase: 'correct horse battery', kdf: FAST })
    const header = await encryptionHeader(dest)
    assert.ok(header && header.subarray(0, 8).toString() === 'STKYBAK1' && header[8] === 10)
    assert.doesNotMatch(readFileSync(dest).toString('latin1'), /ustar/, 'no plaintext tar inside')
    const ok = await readArchive(dest, join(dir, 'ok'), { passphrase: async () => 'correct horse battery' })
    assert.equal(ok.encrypted, true)
    assert.ok(readFileSync(ok.entries[0].path).equals(payload))
    await assert.rejects(readArchive(dest, join(dir, 'wrong'), { passphrase: async () => 'wrong horse battery' }), (e: Error) => e instanceof ArchiveError && /passphrase is wrong or the archive was changed/.test(e.message))
    await assert.rejects(readArchive(dest, join(dir, 'none')), /encrypted and no passphrase/)
    for (const at of [5, 20, 60, statSync(dest).size - 3]) {
      const bytes = readFileSync(dest)
      bytes[at] ^= 0x01
      const bad = join(dir, `bad-${at}.enc`)
      writeFileSync(bad, bytes)
      await assert.rejects(readArchive(bad, join(dir, `bad-${at}`), { passphrase: async () => 'correct horse battery' }), ArchiveError, `byte ${at}`)
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
    await assert.rejects(readArchive(join(dir, "not.tar.gz"), join(dir, "a")), /not a valid gzip-compressed backup archive/)
    const dest = join(dir, 'ok.tar.gz')
    await writeArchive(dest, [{ name: 'f', source: randomBytes(10_000) }])
    writeFileSync(join(dir, 'cut.tar.gz'), readFileSync(dest).subarray(0, 200))
    await assert.rejects(readArchive(join(dir, 'cut.tar.gz'), join(dir, 'b')), ArchiveError)
    await assert.rejects(readArchive(join(dir, 'missing.tar.gz'), join(dir, 'c')), /cannot read .*ENOENT/)
    // an archive made by another tool with an absolute path inside
    execFileSync('tar', ['-czf', join(dir, 'evil.tar.gz'), '-P', join(dir, 'ok.tar.gz')])
    await assert.rejects(readArchive(join(dir, 'evil.tar.gz'), join(dir, 'd')), /unsafe path/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

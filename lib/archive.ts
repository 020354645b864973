// Backup archive format: a ustar tar stream, gzip-compressed, optionally encrypted (AES-256-GCM, key from scrypt).
// Streaming both ways (files are never read whole into memory); file system and node:crypto/zlib only, no Docker,
// no task knowledge. Anything wrong with an archive is an ArchiveError (exit 2: the input is bad, nothing changed).
//
// Encrypted file layout (".tar.gz.enc"):
//   offset 0   8 bytes  magic "STKYBAK1"
//   offset 8   1 byte   scrypt log2(N)   offset 9: r   offset 10: p   (one byte each)
//   offset 11 16 bytes  scrypt salt
//   offset 27 12 bytes  AES-GCM nonce
//   offset 39  …        AES-256-GCM ciphertext of the .tar.gz bytes (the 39 header bytes are its additional data)
//   last 16 bytes       GCM authentication tag
// key = scrypt(passphrase as UTF-8, salt, 32 bytes, {N, r, p}). A wrong passphrase and a changed byte both fail the tag.
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join, posix } from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { EXIT, StackyardError } from './errors.ts'

/** The archive is unreadable, not ours, tampered with, or the passphrase is wrong. Exit 2. */
export class ArchiveError extends StackyardError {
  exitCode = EXIT.usage
}

export const MAGIC = Buffer.from('STKYBAK1', 'ascii')
const HEADER_SIZE = 39
const TAG_SIZE = 16
/** scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, a fraction of a second) */
export const KDF = { log2N: 17, r: 8, p: 1 }
/** AES-GCM with one nonce may encrypt at most 2^39 - 256 bits */
const GCM_MAX_BYTES = 2 ** 36 - 32
export const MIN_PASSPHRASE = 12

export interface EntrySource {
  /** path inside the archive (forward slashes, relative) */
  name: string
  /** a file on disk, streamed, or bytes */
  source: string | Buffer
}

export interface ExtractedEntry {
  name: string
  /** where it was written */
  path: string
  size: number
  sha256: string
}

function scrypt(passphrase: string, salt: Buffer, o: { log2N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: 2 ** o.log2N, r: o.r, p: o.p, maxmem: 256 * 1024 * 1024 + 128 * 2 ** o.log2N * o.r }
  return new Promise((ok, fail) => scryptCb(passphrase.normalize('NFC'), salt, 32, opts, (err, key) => (err ? fail(err) : ok(key))))
}

/** A path inside an archive that cannot escape the folder it is extracted to. */
export function safeName(name: string): string {
  const n = posix.normalize(name)
  if (!name || name.includes('\\') || name.includes('\0') || posix.isAbsolute(name) || n.startsWith('../') || n === '..' || n !== name.replace(/\/+$/, ''))
    throw new ArchiveError(`archive entry "${name}" has an unsafe path`, { hint: 'this is not an archive written by tasks/backup.ts' })
  return n
}

// ---------------------------------------------------------------------------------------------------------------- tar

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}

/** A ustar header for a regular file; sizes past 8 GiB use GNU's base-256 form. */
export function tarHeader(name: string, size: number, mtime: number, mode = 0o600): Buffer {
  const h = Buffer.alloc(512)
  let prefix = ''
  let base = name
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155)
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new ArchiveError(`archive entry name too long: ${name}`)
    prefix = name.slice(0, cut)
    base = name.slice(cut + 1)
  }
  h.write(base, 0, 100, 'utf8')
  h.write(octal(mode, 8), 100, 'ascii')
  h.write(octal(0, 8), 108, 'ascii')
  h.write(octal(0, 8), 116, 'ascii')
  if (size < 8 ** 11) h.write(octal(size, 12), 124, 'ascii')
  else {
    h[124] = 0x80
    h.writeBigUInt64BE(BigInt(size), 132)
  }
  h.write(octal(Math.floor(mtime / 1000), 12), 136, 'ascii')
  h.write('        ', 148, 'ascii')
  h.write('0', 156, 'ascii')
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  h.write(prefix, 345, 155, 'utf8')
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return h
}

function readSize(h: Buffer): number {
  if (h[124] & 0x80) return Number(h.readBigUInt64BE(132))
  return parseInt(h.toString('ascii', 124, 136).replace(/[\0 ]/g, '') || '0', 8)
}

function readString(h: Buffer, at: number, len: number): string {
  const raw = h.subarray(at, at + len)
  const end = raw.indexOf(0)
  return raw.toString('utf8', 0, end === -1 ? len : end)
}

async function* tarStream(entries: readonly EntrySource[]): AsyncGenerator<Buffer> {
  const now = Date.now()
  for (const e of entries) {
    safeName(e.name)
    const size = typeof e.source === 'string' ? (await stat(e.source)).size : e.source.length
    yield tarHeader(e.name, size, now)
    let written = 0
    if (typeof e.source === 'string') {
      for await (const chunk of createReadStream(e.source)) {
        written += (chunk as Buffer).length
        yield chunk as Buffer
      }
    } else {
      written = e.source.length
      yield e.source
    }
    if (written !== size) throw new Error(`${e.source} changed while it was archived`)
    if (size % 512) yield Buffer.alloc(512 - (size % 512))
  }
  yield Buffer.alloc(1024)
}

/** Parses a tar stream, writing each regular file under `dir` (hashing it on the way). */
async function untar(source: AsyncIterable<Buffer>, dir: string): Promise<ExtractedEntry[]> {
  const out: ExtractedEntry[] = []
  let buf: Buffer = Buffer.alloc(0)
  let current: { entry: ExtractedEntry; remaining: number; pad: number; handle: Awaited<ReturnType<typeof open>>; hash: ReturnType<typeof createHash> } | undefined
  let skip = 0
  let ended = false
  const take = async (): Promise<void> => {
    for (;;) {
      if (skip) {
        const n = Math.min(skip, buf.length)
        buf = buf.subarray(n)
        skip -= n
        if (skip) return
      }
      if (current) {
        const n = Math.min(current.remaining, buf.length)
        if (n) {
          const part = buf.subarray(0, n)
          current.hash.update(part)
          await current.handle.write(part)
          buf = buf.subarray(n)
          current.remaining -= n
        }
        if (current.remaining) return
        await current.handle.close()
        current.entry.sha256 = current.hash.digest('hex')
        out.push(current.entry)
        skip = current.pad
        current = undefined
        continue
      }
      if (ended) return
      if (buf.length < 512) return
      const h = buf.subarray(0, 512)
      buf = buf.subarray(512)
      if (h.every((b) => b === 0)) {
        ended = true
        return
      }
      const stored = parseInt(h.toString('ascii', 148, 156).replace(/[\0 ]/g, ''), 8)
      let sum = 0
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]
      if (stored !== sum) throw new ArchiveError('archive is corrupt: a tar header checksum does not match', { hint: 'the file was truncated or changed; use another backup' })
      const type = String.fromCharCode(h[156] || 48)
      const prefix = readString(h, 345, 155)
      const name = (prefix ? `${prefix}/` : '') + readString(h, 0, 100)
      const size = readSize(h)
      if (type === '5') continue
      if (type !== '0') throw new ArchiveError(`archive entry "${name}" is not a regular file (tar type ${type})`, { hint: 'this is not an archive written by tasks/backup.ts' })
      const rel = safeName(name)
      const path = join(dir, ...rel.split('/'))
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      const handle = await open(path, 'wx', 0o600)
      current = { entry: { name: rel, path, size, sha256: '' }, remaining: size, pad: size % 512 ? 512 - (size % 512) : 0, handle, hash: createHash('sha256') }
    }
  }
  try {
    for await (const chunk of source) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      await take()
    }
    await take()
  } finally {
    if (current) await current.handle.close().catch(() => undefined)
  }
  if (current || !ended) throw new ArchiveError('archive is incomplete: the tar stream ends early', { hint: 'the file was truncated; use another backup' })
  return out
}

// ------------------------------------------------------------------------------------------------------- encryption

function encryptor(key: Buffer, header: Buffer, iv: Buffer): Transform {
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(header)
  let started = false
  let bytes = 0
  const start = (t: Transform) => {
    if (!started) t.push(header)
    started = true
  }
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      start(this)
      bytes += chunk.length
      if (bytes > GCM_MAX_BYTES) return cb(new Error('the archive is larger than one AES-GCM message may be (64 GiB): back up fewer stacks at once (--stack)'))
      cb(null, cipher.update(chunk))
    },
    flush(cb: TransformCallback) {
      start(this)
      this.push(cipher.final())
      this.push(cipher.getAuthTag())
      cb()
    },
  })
}

/** Reads the encryption header of a file; undefined when the file is a plain .tar.gz. */
export async function encryptionHeader(path: string): Promise<Buffer | undefined> {
  const handle = await open(path, 'r')
  try {
    const head = Buffer.alloc(HEADER_SIZE)
    const { bytesRead } = await handle.read(head, 0, HEADER_SIZE, 0)
    if (bytesRead >= MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC)) {
      if (bytesRead < HEADER_SIZE) throw new ArchiveError(`${basename(path)} is truncated (no complete encryption header)`)
      return head
    }
    return undefined
  } finally {
    await handle.close()
  }
}

// -------------------------------------------------------------------------------------------------------- the API

export interface WriteArchiveOptions {
  /** encrypt with a key derived from this passphrase */
  passphrase?: string
  /** scrypt cost (tests may lower it; the default is KDF) */
  kdf?: { log2N: number; r: number; p: number }
}

/**
 * Writes the archive to `dest` atomically: a temp file beside it (mode 0600 from its creation), synced and renamed
 * into place when complete, then the folder synced. Returns its size and sha256.
 */
export async function writeArchive(dest: string, entries: readonly EntrySource[], o: WriteArchiveOptions = {}): Promise<{ size: number; sha256: string }> {
  const tmp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', 0o600)
  await handle.close()
  const hash = createHash('sha256')
  let size = 0
  const tally = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk)
      size += chunk.length
      cb(null, chunk)
    },
  })
  try {
    const stages: NodeJS.ReadWriteStream[] = [createGzip({ level: 6 })]
    if (o.passphrase !== undefined) {
      const kdf = o.kdf ?? KDF
      const salt = randomBytes(16)
      const iv = randomBytes(12)
      const header = Buffer.concat([MAGIC, Buffer.from([kdf.log2N, kdf.r, kdf.p]), salt, iv])
      stages.push(encryptor(await scrypt(o.passphrase, salt, kdf), header, iv))
    }
    await pipeline([Readable.from(tarStream(entries)), ...stages, tally, createWriteStream(tmp, { flags: 'r+' })])
    const fh = await open(tmp, 'r')
    await fh.sync()
    await fh.close()
    await rename(tmp, dest)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    throw err
  }
  // the rename itself durable too (as lib/fs-atomic.ts does for the files it replaces)
  const dirHandle = await open(dirname(dest), 'r')
  await dirHandle.sync().finally(() => dirHandle.close())
  return { size, sha256: hash.digest('hex') }
}

export interface ReadArchiveOptions {
  /** asked only when the archive is encrypted */
  passphrase?: () => Promise<string>
}

/**
 * Extracts every file of the archive into `dir` (which must be empty and private), authenticating an encrypted one
 * completely before returning. Nothing is trusted until this returns: a failure leaves only `dir` to delete.
 */
export async function readArchive(path: string, dir: string, o: ReadArchiveOptions = {}): Promise<{ entries: ExtractedEntry[]; encrypted: boolean }> {
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw new ArchiveError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give the path of a backup archive (backups/stackyard-backup-….tar.gz[.enc])' })
  }
  const header = await encryptionHeader(path)
  // the first failure of the decrypt/gunzip pipeline, if it failed before the tar reader did: the better explanation
  let failure: ArchiveError | undefined
  const gunzip = createGunzip()
  const fail = (err: Error) => {
    failure ??= /authenticate|bad decrypt/i.test(err.message)
      ? new ArchiveError(`${basename(path)} cannot be decrypted: the passphrase is wrong or the archive was changed`, { hint: 'nothing was changed; try the passphrase again, or another backup' })
      : new ArchiveError(`${basename(path)} is not a valid gzip-compressed backup archive (${err.message})`, { hint: 'nothing was changed; use another backup' })
    gunzip.destroy()
  }
  let done: Promise<void>
  if (header) {
    if (!o.passphrase) throw new ArchiveError(`${basename(path)} is encrypted and no passphrase was given`, { hint: 'set STACKYARD_BACKUP_PASSPHRASE or run in a terminal to be asked' })
    if (info.size < HEADER_SIZE + TAG_SIZE) throw new ArchiveError(`${basename(path)} is truncated`)
    const [log2N, r, p] = [header[8], header[9], header[10]]
    if (log2N < 10 || log2N > 22 || r < 1 || r > 32 || p < 1 || p > 16) throw new ArchiveError(`${basename(path)}: unsupported encryption parameters`, { hint: 'this is not an archive written by tasks/backup.ts' })
    const key = await scrypt(await o.passphrase(), header.subarray(11, 27), { log2N, r, p })
    const tag = Buffer.alloc(TAG_SIZE)
    const fh = await open(path, 'r')
    await fh.read(tag, 0, TAG_SIZE, info.size - TAG_SIZE)
    await fh.close()
    const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(27, 39))
    decipher.setAAD(header)
    decipher.setAuthTag(tag)
    done = pipeline(createReadStream(path, { start: HEADER_SIZE, end: info.size - TAG_SIZE - 1 }), decipher, gunzip).catch(fail)
  } else done = pipeline(createReadStream(path), gunzip).catch(fail)
  let entries: ExtractedEntry[]
  try {
    entries = await untar(gunzip, dir)
  } catch (err) {
    if (failure) throw failure
    if (err instanceof ArchiveError) throw err
    throw new ArchiveError(`${basename(path)} is not a valid archive: ${(err as Error).message}`, { hint: 'nothing was changed; use another backup' })
  }
  await done
  if (failure) throw failure
  return { entries, encrypted: Boolean(header) }
}

/** sha256 and size of a file, streamed. */
export async function fileDigest(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, sha256: hash.digest('hex') }
}

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
import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs'
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, posix } from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { EXIT, StackyardError } from '../core/errors.ts'

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

export interface IndexedEntry {
  size: number
  sha256: string
}

/** The first entry of an archive lists every other one: the archive is checked against it while it streams. */
export interface ArchiveIndex {
  /** the first entry's name */
  name: string
  /** how it is called in messages, e.g. "the manifest" */
  label: string
  /** its largest accepted size */
  maxBytes: number
  /** its bytes → every other entry the archive must hold, with its size and sha256; throws ArchiveError */
  read(bytes: Buffer): ReadonlyMap<string, IndexedEntry>
}

export interface ScanOptions {
  index: ArchiveIndex
  /** entries returned in memory (never written anywhere), at most KEEP_MAX bytes each */
  keep?: (name: string) => boolean
  /** entries written to a new file (mode 0600, created exclusively) at the returned path; undefined: hashed only */
  extractTo?: (name: string) => string | undefined
}

export interface ScanResult {
  index: Buffer
  entries: ReadonlyMap<string, IndexedEntry>
  kept: Map<string, Buffer>
  extracted: Map<string, string>
}

/** the largest entry read into memory */
export const KEEP_MAX = 4 * 1024 * 1024
/** zero bytes accepted after the end-of-archive marker (tar writers pad to their record size) */
const TRAILING_MAX = 1024 * 1024
const padded = (n: number) => n + (n % 512 ? 512 - (n % 512) : 0)

/**
 * Reads a tar stream and checks it against its index while it streams: the index must come first (bounded), then
 * only the entries it lists, each once, each with exactly its listed size (refused at its header, before a byte of
 * it is read) and sha256 (at its end), then nothing but zero padding. The expanded size is bounded by what the index
 * lists: nothing unlisted is ever read past its header, let alone written.
 */
async function scanTar(source: AsyncIterable<Buffer>, o: ScanOptions, where: string): Promise<ScanResult> {
  const bad = (detail: string) =>
    new ArchiveError(`${where} failed verification (refused at the first problem): ${detail}`, { hint: 'the archive is corrupt or was changed after it was written; nothing was changed. Use another backup' })
  const foreign = (detail: string) => new ArchiveError(`${where}: ${detail}`, { hint: 'this is not an archive written by tasks/backup.ts; nothing was changed' })
  let expected: ReadonlyMap<string, IndexedEntry> | undefined
  let index: Buffer | undefined
  const seen = new Set<string>()
  const kept = new Map<string, Buffer>()
  const extracted = new Map<string, string>()
  let buf: Buffer = Buffer.alloc(0)
  let cur: { name: string; remaining: number; pad: number; hash: ReturnType<typeof createHash>; parts?: Buffer[]; handle?: FileHandle } | undefined
  let skip = 0
  let ended = false
  let trailing = 0
  let expanded = 0
  let limit = Infinity
  const endEntry = async () => {
    const c = cur!
    cur = undefined
    skip = c.pad
    if (c.handle) await c.handle.close()
    if (!expected) {
      index = Buffer.concat(c.parts!)
      expected = o.index.read(index)
      limit = padded(index.length) + 512 + 1024 + TRAILING_MAX
      for (const e of expected.values()) limit += 512 + padded(e.size)
      return
    }
    const digest = c.hash.digest('hex')
    const want = expected.get(c.name)!
    if (digest !== want.sha256) throw bad(`${c.name}: sha256 ${digest.slice(0, 12)}…, ${o.index.label} says ${want.sha256.slice(0, 12)}…`)
    if (c.parts) kept.set(c.name, Buffer.concat(c.parts))
  }
  const take = async (): Promise<void> => {
    for (;;) {
      if (ended) {
        if (buf.some((b) => b !== 0)) throw foreign('there is data after the end of the archive')
        trailing += buf.length
        buf = Buffer.alloc(0)
        if (trailing > TRAILING_MAX) throw foreign('there is data after the end of the archive')
        return
      }
      if (skip) {
        const n = Math.min(skip, buf.length)
        buf = buf.subarray(n)
        skip -= n
        if (skip) return
      }
      if (cur) {
        const n = Math.min(cur.remaining, buf.length)
        if (n) {
          const part = buf.subarray(0, n)
          cur.hash.update(part)
          if (cur.parts) cur.parts.push(Buffer.from(part))
          if (cur.handle) await cur.handle.write(part)
          buf = buf.subarray(n)
          cur.remaining -= n
        }
        if (cur.remaining) return
        await endEntry()
        continue
      }
      if (buf.length < 512) return
      const h = buf.subarray(0, 512)
      buf = buf.subarray(512)
      if (h.every((b) => b === 0)) {
        ended = true
        continue
      }
      const stored = parseInt(h.toString('ascii', 148, 156).replace(/[\0 ]/g, ''), 8)
      let sum = 0
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]
      if (stored !== sum) throw new ArchiveError(`${where} is corrupt: a tar header checksum does not match`, { hint: 'the file was truncated or changed; nothing was changed. Use another backup' })
      const type = String.fromCharCode(h[156] || 48)
      const prefix = readString(h, 345, 155)
      const raw = (prefix ? `${prefix}/` : '') + readString(h, 0, 100)
      const size = readSize(h)
      if (type !== '0') throw foreign(`entry ${JSON.stringify(raw)} is not a regular file (tar type ${JSON.stringify(type)})`)
      const name = safeName(raw)
      if (!expected) {
        if (name !== o.index.name) throw foreign(`it does not start with ${o.index.name}`)
        if (size > o.index.maxBytes) throw foreign(`${o.index.name} is ${size} bytes, more than the ${o.index.maxBytes} it may have`)
        cur = { name, remaining: size, pad: padded(size) - size, hash: createHash('sha256'), parts: [] }
        if (!size) await endEntry()
        continue
      }
      const want = expected.get(name)
      if (!want) throw bad(`${name}: not in ${o.index.label}`)
      if (seen.has(name)) throw bad(`${name}: twice in the archive`)
      seen.add(name)
      if (size !== want.size) throw bad(`${name}: ${size} bytes, ${o.index.label} says ${want.size}`)
      const keepIt = o.keep?.(name) ?? false
      if (keepIt && size > KEEP_MAX) throw bad(`${name}: ${size} bytes, more than the ${KEEP_MAX} such a file may have`)
      const path = o.extractTo?.(name)
      cur = { name, remaining: size, pad: padded(size) - size, hash: createHash('sha256'), ...(keepIt ? { parts: [] } : {}) }
      if (path) {
        cur.handle = await open(path, 'wx', 0o600)
        extracted.set(name, path)
      }
      if (!size) await endEntry()
    }
  }
  try {
    for await (const chunk of source) {
      expanded += chunk.length
      if (expanded > limit) throw foreign(`it expands to more than the ${limit} bytes ${o.index.label} accounts for`)
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      await take()
    }
    await take()
  } finally {
    if (cur?.handle) await cur.handle.close().catch(() => undefined)
  }
  if (cur || !ended || !expected) throw new ArchiveError(`${where} is incomplete: the tar stream ends early`, { hint: 'the file was truncated; nothing was changed. Use another backup' })
  const missing = [...expected.keys()].filter((n) => !seen.has(n))
  if (missing.length) throw bad(`${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}: listed in ${o.index.label}, missing from the archive`)
  return { index: index!, entries: expected, kept, extracted }
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
  // the writing process's pid in the name: a later backup can tell a killed run's temp file (lib/core/backup-dir.ts)
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
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
  // the rename itself durable too (as lib/core/fs-atomic.ts does for the files it replaces)
  const dirHandle = await open(dirname(dest), 'r')
  await dirHandle.sync().finally(() => dirHandle.close())
  return { size, sha256: hash.digest('hex') }
}

export interface OpenArchiveOptions {
  /** asked only when the archive is encrypted */
  passphrase?: () => Promise<string>
}

/** An archive file held open: each scan is one streaming pass over the same file (decrypted, gunzipped, checked). */
export interface OpenedArchive {
  path: string
  encrypted: boolean
  /** size of the archive file */
  size: number
  scan(o: ScanOptions): Promise<ScanResult>
  close(): Promise<void>
}

function kindOf(info: Stats): string {
  return info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a FIFO' : info.isSocket() ? 'a socket' : info.isCharacterDevice() || info.isBlockDevice() ? 'a device' : 'not a regular file'
}

/**
 * Opens an archive for reading: a regular file only (opened without blocking, so a FIFO cannot hang it, and checked
 * on the open descriptor, so it cannot be swapped afterwards); an encrypted one's key is derived once, here. Nothing is
 * trusted until a scan returns: a scan checks every entry against the index while it streams, and authenticates an
 * encrypted archive completely before it resolves.
 */
export async function openArchive(path: string, o: OpenArchiveOptions = {}): Promise<OpenedArchive> {
  const where = basename(path)
  const hint = 'give the path of a backup archive (backups/stackyard-backup-….tar.gz[.enc]); nothing was changed'
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw new ArchiveError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint })
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new ArchiveError(`${path} is ${kindOf(info)}, not an archive file`, { hint })
    const head = Buffer.alloc(HEADER_SIZE)
    const { bytesRead } = await handle.read(head, 0, HEADER_SIZE, 0)
    const encrypted = bytesRead >= MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC)
    let key: Buffer | undefined
    let tag: Buffer | undefined
    if (encrypted) {
      if (bytesRead < HEADER_SIZE || info.size < HEADER_SIZE + TAG_SIZE) throw new ArchiveError(`${where} is truncated (no complete encryption header)`, { hint: 'nothing was changed; use another backup' })
      if (!o.passphrase) throw new ArchiveError(`${where} is encrypted and no passphrase was given`, { hint: 'set STACKYARD_BACKUP_PASSPHRASE or run in a terminal to be asked' })
      const [log2N, r, p] = [head[8], head[9], head[10]]
      if (log2N < 10 || log2N > 22 || r < 1 || r > 32 || p < 1 || p > 16) throw new ArchiveError(`${where}: unsupported encryption parameters`, { hint: 'this is not an archive written by tasks/backup.ts' })
      key = await scrypt(await o.passphrase(), head.subarray(11, 27), { log2N, r, p })
      tag = Buffer.alloc(TAG_SIZE)
      await handle.read(tag, 0, TAG_SIZE, info.size - TAG_SIZE)
    }
    const classify = (err: Error): ArchiveError =>
      /authenticate|bad decrypt/i.test(err.message)
        ? new ArchiveError(`${where} cannot be decrypted: the passphrase is wrong or the archive was changed`, { hint: 'nothing was changed; try the passphrase again, or another backup' })
        : new ArchiveError(`${where} is not a valid gzip-compressed backup archive (${err.message})`, { hint: 'nothing was changed; use another backup' })
    return {
      path,
      encrypted,
      size: info.size,
      async scan(s) {
        // the first failure of the read/decrypt/gunzip pipeline, if it failed before the tar reader did: the better explanation
        let failure: ArchiveError | undefined
        let stopping = false
        const input = handle.createReadStream(encrypted ? { start: HEADER_SIZE, end: info.size - TAG_SIZE - 1, autoClose: false } : { start: 0, autoClose: false })
        const gunzip = createGunzip()
        const stages: NodeJS.ReadWriteStream[] = []
        if (encrypted) {
          const decipher = createDecipheriv('aes-256-gcm', key!, head.subarray(27, 39))
          decipher.setAAD(head)
          decipher.setAuthTag(tag!)
          stages.push(decipher)
        }
        const done = pipeline([input, ...stages, gunzip]).catch((err: Error) => {
          if (!stopping) failure ??= classify(err)
        })
        let result: ScanResult | undefined
        let tarError: unknown
        try {
          result = await scanTar(gunzip, s, where)
        } catch (err) {
          tarError = err
          if (!(err instanceof ArchiveError)) failure ??= classify(err as Error)
          stopping = true
          input.destroy()
          gunzip.destroy()
        }
        await done
        if (failure) throw failure
        if (tarError !== undefined) throw tarError
        return result!
      },
      close: () => handle.close(),
    }
  } catch (err) {
    await handle.close()
    throw err
  }
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

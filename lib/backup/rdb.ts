// Reading an RDB snapshot (Valkey/Redis) without loading it: what its first records say of the keyspace, and the
// server's own `INFO keyspace` answer to compare it with. Pure: bytes and text in, numbers out.

export interface RdbKeyspace {
  /** the first database the snapshot holds (none: the snapshot is empty) */
  db?: number
  /** its keys and how many of them carry an expiry (from the RESIZEDB record) */
  keys: number
  expires: number
}

/**
 * What an RDB snapshot says of its first database, from the records before its keys (AUX fields, functions,
 * SELECTDB, RESIZEDB): exact without loading it. Undefined when the file does not say (no RESIZEDB record, an unknown
 * record first, or truncated).
 */
export function rdbKeyspace(rdb: Buffer): RdbKeyspace | undefined {
  if (rdb.length < 9 || rdb.subarray(0, 5).toString('latin1') !== 'REDIS') return undefined
  let i = 9
  const byte = () => {
    if (i >= rdb.length) throw new RangeError('truncated')
    return rdb[i++]
  }
  /** a length, or for the special encodings {special} */
  const length = (): { n: number; special?: number } => {
    const b = byte()
    const type = b >> 6
    if (type === 0) return { n: b & 0x3f }
    if (type === 1) return { n: ((b & 0x3f) << 8) | byte() }
    if (type === 3) return { n: 0, special: b & 0x3f }
    if (b === 0x80) {
      if (i + 4 > rdb.length) throw new RangeError('truncated')
      i += 4
      return { n: rdb.readUInt32BE(i - 4) }
    }
    if (b === 0x81) {
      if (i + 8 > rdb.length) throw new RangeError('truncated')
      i += 8
      return { n: Number(rdb.readBigUInt64BE(i - 8)) }
    }
    throw new RangeError('unknown length encoding')
  }
  const skipString = () => {
    const l = length()
    if (l.special === undefined) i += l.n
    else if (l.special === 0) i += 1
    else if (l.special === 1) i += 2
    else if (l.special === 2) i += 4
    else if (l.special === 3) {
      const clen = length().n
      length()
      i += clen
    } else throw new RangeError('unknown string encoding')
    if (i > rdb.length) throw new RangeError('truncated')
  }
  try {
    let db: number | undefined
    for (;;) {
      const op = byte()
      if (op === 0xfa) {
        skipString()
        skipString()
      } else if (op === 0xf5) skipString() // FUNCTION2: a library's code
      else if (op === 0xf4) {
        length() // SLOT_INFO (cluster): slot, its size, its expires
        length()
        length()
      } else if (op === 0xfe) db = length().n
      else if (op === 0xfb) {
        if (db === undefined) return undefined
        const keys = length().n
        return { db, keys, expires: length().n }
      } else if (op === 0xff) return db === undefined ? { keys: 0, expires: 0 } : undefined
      else return undefined
    }
  } catch {
    return undefined
  }
}

/** `INFO keyspace` → keys per database number. */
export function parseKeyspace(info: string): Map<number, number> {
  const out = new Map<number, number>()
  for (const m of info.matchAll(/^db(\d+):keys=(\d+)/gm)) out.set(Number(m[1]), Number(m[2]))
  return out
}

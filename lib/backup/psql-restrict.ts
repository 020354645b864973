// Dumps fed to psql run with backslash commands restricted (psql's \restrict, PostgreSQL 17.6, 16.10, 15.14 and
// later): psql then refuses every meta-command — \! (a shell), \copy … program, \o |command, \set — except \unrestrict
// with our random key, so no line of a dump from an archive reaches a shell in the database container. pg_dump's own
// \restrict line (at the top) and \unrestrict line (at the end) are replaced by ours; any other one is left for psql
// to refuse. A Transform over bytes, a line held only while it may be one of those two; no I/O.
import { randomBytes } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

/** the longest line that is held to be looked at (pg_dump's key lines are ~80 bytes); longer ones stream through */
const CANDIDATE_MAX = 512
const RESTRICT = /^\\restrict [A-Za-z0-9]+\r?$/
const UNRESTRICT = /^\\unrestrict [A-Za-z0-9]+\r?$/

export function restrictedPsqlInput(key = randomBytes(32).toString('hex')): Transform {
  let header = true // only blank lines and comments so far
  let droppedRestrict = false
  let passing = false // the current line is too long to be a key line: streamed as it comes
  let cur: Buffer[] = []
  let curLen = 0
  let held: Buffer[] = [] // a \unrestrict line and the blank lines and comments after it: dropped if nothing follows
  const text = (line: Buffer) => line.toString('latin1').replace(/\n$/, '')
  const flushHeld = (t: Transform) => {
    for (const l of held) t.push(l)
    held = []
  }
  const onLine = (t: Transform, line: Buffer) => {
    const s = text(line)
    const blankOrComment = s.trim() === '' || s.startsWith('--')
    if (header && blankOrComment) return void t.push(line)
    if (header && !droppedRestrict && RESTRICT.test(s)) {
      droppedRestrict = true
      return
    }
    header = false
    if (UNRESTRICT.test(s)) {
      flushHeld(t)
      held.push(line)
      return
    }
    if (held.length && blankOrComment) return void held.push(line)
    flushHeld(t)
    t.push(line)
  }
  const guard = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      let start = 0
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start)
        const end = nl === -1 ? chunk.length : nl + 1
        const piece = chunk.subarray(start, end)
        start = end
        if (passing) {
          this.push(piece)
          if (nl !== -1) passing = false
          continue
        }
        cur.push(piece)
        curLen += piece.length
        if (nl === -1) {
          if (curLen > CANDIDATE_MAX) {
            flushHeld(this)
            header = false
            this.push(Buffer.concat(cur))
            cur = []
            curLen = 0
            passing = true
          }
          continue
        }
        const line = Buffer.concat(cur)
        cur = []
        curLen = 0
        onLine(this, line)
      }
      cb()
    },
    flush(cb: TransformCallback) {
      if (curLen) onLine(this, Buffer.concat(cur))
      // the dump's own \unrestrict at its end is dropped (ours needs none: psql exits); what followed it is kept
      for (const l of held) if (!UNRESTRICT.test(text(l))) this.push(l)
      cb()
    },
  })
  guard.push(Buffer.from(`\\restrict ${key}\n`))
  return guard
}

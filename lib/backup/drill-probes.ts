// A restore drill's checks of one restored service, in its throwaway project: Docker's health state and the health
// probes (lib/stacks/health.ts PROBES), plus a probe by backup method that compares what was restored with what the archive
// holds: PostgreSQL (each dump complete, its database present with as many tables as the dump creates, each role an
// x-secrets check declares logs in over TCP), Valkey/Redis (the keys the RDB snapshot says it holds), volumes (as many
// files as the archive's tar). Read-only commands; the archive's files are read from the staged copies.
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { execCommand } from '../docker/compose.ts'
import { PROBES } from '../stacks/health.ts'
import { composeAccess } from '../stacks/access.ts'
import { PG_LOGIN } from '../stacks/live-secrets.ts'
import { isServing } from '../docker/state.ts'
import { pg, volume, type SnapshotSpec } from './methods.ts'
import { COUNT_TABLES_SQL, dumpComplete, tableCounter } from './drill-plan.ts'
import { parseKeyspace, rdbKeyspace } from './rdb.ts'
import { parseDatabaseList } from './methods.ts'
import { stackRows } from '../stacks/status.ts'
import { findVolumes } from '../infisical/reset.ts'
import type { ManifestEntry } from './manifest.ts'
import type { OpenedBackup, ServiceRestore } from './restore.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'

export interface DrillCheck {
  check: string
  ok: boolean
  detail: string
}

const TIMEOUT = 60_000
const last = (text: string) => text.trim().split('\n').slice(-2).join(' ')

/** The tables a staged dump creates, counted while it streams (a dump may be large). */
async function dumpTables(path: string): Promise<number> {
  const counter = tableCounter()
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) counter.line(line)
  return counter.count()
}

async function readRange(path: string, from: 'start' | 'end', bytes: number): Promise<Buffer> {
  const h = await open(path, 'r')
  try {
    const size = (await h.stat()).size
    const n = Math.min(bytes, size)
    const buf = Buffer.alloc(n)
    await h.read(buf, 0, n, from === 'start' ? 0 : size - n)
    return buf
  } finally {
    await h.close()
  }
}

/** Regular files in a tar file (ustar/GNU/pax headers walked, contents skipped). */
export async function tarFiles(path: string): Promise<number> {
  const h = await open(path, 'r')
  try {
    const size = (await h.stat()).size
    const header = Buffer.alloc(512)
    let pos = 0
    let files = 0
    while (pos + 512 <= size) {
      await h.read(header, 0, 512, pos)
      if (header.every((b) => b === 0)) break
      const sizeField = header.subarray(124, 136)
      // GNU base-256 for large files: high bit set
      const len = sizeField[0] & 0x80 ? Number(sizeField.subarray(4).readBigUInt64BE(0)) : parseInt(sizeField.toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8)
      const type = String.fromCharCode(header[156])
      if (type === '0' || type === '\0' || type === '7') files++
      pos += 512 + Math.ceil(len / 512) * 512
    }
    return files
  } finally {
    await h.close()
  }
}

/** Docker's state of the service in the drill, and the health probes that apply to it (not those of the proxy). */
export async function healthChecks(ctx: Pick<StackCtx, 'exec'>, drill: Platform, s: ServiceRestore): Promise<DrillCheck[]> {
  const rows = await stackRows(ctx, drill, s.stack)
  const row = rows.find((r) => r.Service === s.service)
  const state = !row ? 'not created' : row.State === 'running' ? row.Health || 'running (no health check)' : row.State
  const checks: DrillCheck[] = [{ check: 'docker health', ok: isServing(row), detail: state }]
  if (row?.State !== 'running') return checks
  const service = s.stack.services.find((x) => x.name === s.service)!
  for (const probe of PROBES) {
    if (service.proxy || /proxy/.test(probe.check) || !probe.applies(service, drill)) continue
    checks.push({ check: probe.check, ...(await probe.run(composeAccess(ctx, drill), drill, service)) })
  }
  return checks
}

/** PostgreSQL: every dump complete, its database there with the tables the dump creates; the declared roles log in. */
export async function pgChecks(ctx: Pick<StackCtx, 'exec'>, drill: Platform, s: ServiceRestore, opened: OpenedBackup): Promise<DrillCheck[]> {
  const user = s.user ?? 'postgres'
  const exec = (cmd: string[], stdin?: Readable) => drill.run(ctx.exec, s.stack, execCommand(s.service, cmd), { timeoutMs: TIMEOUT, stdin })
  const checks: DrillCheck[] = []
  const listed = await exec(pg.list(user))
  if (listed.exitCode !== 0) return [{ check: 'databases', ok: false, detail: `cannot list them: ${last(listed.stderr)}` }]
  const present = new Set(parseDatabaseList(listed.stdout).map((d) => d.name))
  for (const e of s.entries.filter((x): x is ManifestEntry & { database: string } => x.kind === 'database' && x.database !== undefined)) {
    const check = `database ${e.database}`
    const staged = opened.staged.get(e.file)!
    if (!dumpComplete((await readRange(staged, 'end', 512)).toString('utf8'))) {
      checks.push({ check, ok: false, detail: 'the dump in the archive is incomplete (it does not end as pg_dump ends a dump)' })
      continue
    }
    if (!present.has(e.database)) {
      checks.push({ check, ok: false, detail: 'not there after the restore' })
      continue
    }
    const want = await dumpTables(staged)
    const r = await exec(['psql', '-X', '-A', '-t', '-q', '-U', user, '-d', e.database, '-c', COUNT_TABLES_SQL])
    const got = r.exitCode === 0 ? Number(r.stdout.trim()) : NaN
    if (Number.isNaN(got)) checks.push({ check, ok: false, detail: `cannot count its tables: ${last(r.stderr)}` })
    else checks.push({ check, ok: got === want, detail: `${got} of the ${want} tables its dump creates` })
  }
  // each role an x-secrets entry says this service holds: it logs in over TCP with the value the env layers hold
  for (const d of drill.registry.secrets.values()) {
    const c = d.spec.check
    if (!c || c.method !== 'pg-login' || d.stack !== s.stack.name || c.service !== s.service) continue
    const value = drill.compose.layers.lookup(d.key)
    const check = `role ${c.role} logs in`
    if (!value) {
      checks.push({ check, ok: false, detail: `${d.key} is not set` })
      continue
    }
    const r = await exec(['sh', '-c', PG_LOGIN, 'sh', c.role, c.database ?? c.role, s.service], Readable.from([`${value}\n`]))
    checks.push({ check, ok: r.exitCode === 0, detail: r.exitCode === 0 ? `with ${d.key}` : last(r.stderr) || `exit ${r.exitCode}` })
  }
  return checks
}

/** Valkey/Redis: the keys of the snapshot's database are there (those with an expiry may have expired since). */
export async function snapshotChecks(ctx: Pick<StackCtx, 'exec'>, drill: Platform, s: ServiceRestore, opened: OpenedBackup): Promise<DrillCheck[]> {
  const spec = s.stack.services.find((x) => x.name === s.service)!.backup as SnapshotSpec
  const checks: DrillCheck[] = []
  for (const e of s.entries) {
    const want = rdbKeyspace(await readRange(opened.staged.get(e.file)!, 'start', 1 << 20))
    const r = await drill.run(ctx.exec, s.stack, execCommand(s.service, [spec.cli, 'INFO', 'keyspace']), { timeoutMs: TIMEOUT })
    if (r.exitCode !== 0) {
      checks.push({ check: 'keys', ok: false, detail: `${spec.cli} INFO keyspace: ${last(r.stderr || r.stdout)}` })
      continue
    }
    const dbs = parseKeyspace(r.stdout)
    const total = [...dbs.values()].reduce((a, b) => a + b, 0)
    if (!want) checks.push({ check: 'keys', ok: total > 0, detail: `${total} keys (the snapshot does not say how many it holds: more than 0 expected)` })
    else if (want.db === undefined) checks.push({ check: 'keys', ok: total === 0, detail: `${total} keys; the snapshot is empty` })
    else {
      const got = dbs.get(want.db) ?? 0
      const ok = got <= want.keys && got >= want.keys - want.expires
      checks.push({ check: 'keys', ok, detail: `db${want.db}: ${got} of the ${want.keys} keys the snapshot holds${want.expires ? ` (${want.expires} with an expiry)` : ''}` })
    }
  }
  return checks
}

/** Volumes: each holds as many files as its tar in the archive. */
export async function volumeChecks(ctx: Pick<StackCtx, 'exec'>, project: string, s: ServiceRestore, opened: OpenedBackup, helperImage: string, labels: Record<string, string>): Promise<DrillCheck[]> {
  const checks: DrillCheck[] = []
  for (const e of s.entries) {
    const check = `volume ${e.volume}`
    const want = await tarFiles(opened.staged.get(e.file)!)
    const [name] = await findVolumes(ctx.exec, project, e.volume!)
    if (!name) {
      checks.push({ check, ok: false, detail: 'not created' })
      continue
    }
    const r = await ctx.exec('docker', [...volume.runArgs(name, helperImage, { readOnly: true, stdin: false, labels }), ...volume.countFiles()], { nothrow: true, timeoutMs: TIMEOUT })
    const got = r.exitCode === 0 ? Number(r.stdout.trim()) : NaN
    checks.push(Number.isNaN(got) ? { check, ok: false, detail: `cannot count its files: ${last(r.stderr)}` } : { check, ok: got === want, detail: `${got} of the ${want} files in the archive` })
  }
  return checks
}

// `backup`: every stateful service of the selected stacks, as its x-backup declares, streamed from the containers
// (found through `docker compose`, volumes through compose labels) into private temp files, then one timestamped
// archive with a manifest (lib/backup/archive.ts), optionally with the secret files and encrypted; then retention.
// Docker through the context's runners (dry-run aware); files written here are the archive, its temp files and the
// journal entry (lib/backup/journal.ts, through ctx.writeFile).
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { chmod, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { FailureError } from '../core/errors.ts'
import { namedVolumeKeys } from '../model/volumes.ts'
import { parseImageInspect } from '../docker/state.ts'
import type { Engine } from '../model/x-fields.ts'
import { composeReach, swarmReach, type ServiceReach } from './reach.ts'
import { fileDigest, writeArchive, type EntrySource } from './archive.ts'
import { archiveName, retention } from './retention.ts'
import { archivePath, databaseSettings, parseDatabaseList, pg, pgUser, PG_COMPLETE, snapshot, tolerantRoles, volume, helperImage, type PgSpec, type SnapshotSpec } from './methods.ts'
import { MANIFEST_FILE, SECRET_FILES, type Manifest, type ManifestEntry } from './manifest.ts'
import { plural } from '../core/format.ts'
import { prepareBackupDir, workFolderPrefix } from '../core/backup-dir.ts'
import { stackyardVersion } from './inputs.ts'
import { BACKUP_JOURNAL_FILE, journalEntry, readJournal, withBackup } from './journal.ts'
import type { Service, Stack } from '../model/registry.ts'
import { selectedStacks } from '../model/routes.ts'
import type { Runner } from '../core/exec.ts'
import { loadPlatform, type StackCtx } from '../docker/platform.ts'

export interface BackupOptions {
  /** --stack: only these stacks (exactly these); empty: every stack this host runs */
  stacks: readonly string[]
  /** absolute folder for the archive */
  outDir: string
  /** keep only the newest N archives of the same kind (same context and stack selection) */
  keep?: number
  includeSecrets: boolean
  /** encrypt the archive with a key derived from this */
  passphrase?: string
  /** default: helperImage(), STACKYARD_BACKUP_IMAGE or the pinned one */
  helperImage?: string
  /** default: this checkout's version and commit */
  stackyard?: { version: string; commit: string | null }
  now?: Date
  /** the engine that runs the stacks (default compose); under swarm the dumps run in each service's running task */
  engine?: Engine
}

export interface BackupReport {
  archive: string | null
  encrypted: boolean
  size: number
  sha256: string
  manifest: Manifest
  /** archives deleted by --keep */
  removed: string[]
}

interface Item {
  stack: Stack
  service: Service
  kind: 'pg_dump' | 'snapshot' | 'volume'
  /** volume: the docker volume names by key */
  volumes: Array<{ key: string; name: string }>
}

/** A Writable that streams into a new private file and keeps its sha256, size, first and last bytes. */
function fileSink(path: string): Writable & { done(): { size: number; sha256: string; head: Buffer; tail: Buffer } } {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 })
  const hash = createHash('sha256')
  let size = 0
  let head = Buffer.alloc(0)
  let tail = Buffer.alloc(0)
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk)
      size += chunk.length
      if (head.length < 16) head = Buffer.concat([head, chunk]).subarray(0, 16)
      tail = Buffer.concat([tail, chunk]).subarray(-256)
      if (out.write(chunk)) cb()
      else out.once('drain', () => cb())
    },
    final(cb) {
      out.end(cb)
    },
    destroy(err, cb) {
      out.destroy()
      cb(err)
    },
  })
  out.on('error', (err) => sink.destroy(err))
  return Object.assign(sink, { done: () => ({ size, sha256: hash.digest('hex'), head, tail }) })
}

async function imageOf(ctx: Pick<StackCtx, 'exec'>, service: Service, running?: string): Promise<{ image: string; imageId?: string; digest?: string }> {
  // a swarm task's reference carries the digest Swarm pinned (image:tag@sha256:…): the tag is the image's name
  const image = running?.replace(/@sha256:[0-9a-f]+$/, '') || service.image || ''
  if (!image) return { image: '' }
  const r = await ctx.exec('docker', ['image', 'inspect', image], { nothrow: true })
  const info = r.exitCode === 0 ? parseImageInspect(r.stdout, image) : undefined
  return { image, ...(info ? { imageId: info.id } : {}), ...(info?.repoDigest ? { digest: info.repoDigest } : {}) }
}

/** Runs a dump command (through `ctx.change`) with its stdout streamed into `path`; a failure names the service and Docker's error. */
async function dumpTo(ctx: Pick<StackCtx, 'change'>, run: (runner: Runner, opts: { stdout?: Writable }) => Promise<{ exitCode: number; stderr: string }>, path: string | undefined, what: string): Promise<{ size: number; sha256: string; head: Buffer; tail: Buffer } | undefined> {
  if (!path) {
    await run(ctx.change, {})
    return undefined
  }
  const sink = fileSink(path)
  const r = await run(ctx.change, { stdout: sink })
  if (r.exitCode !== 0) throw new FailureError(`${what} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-4).join(' ') || 'no error output'}`, { hint: 'nothing was written to the backup folder; check the service (npx zx tasks/logs.ts) and run again' })
  return sink.done()
}

export async function backup(ctx: StackCtx, o: BackupOptions): Promise<BackupReport> {
  const p = loadPlatform(ctx, { profiles: 'active', generating: false })
  const here = selectedStacks(p.registry, p.settings)
  const stacks = o.stacks.length ? o.stacks.map((n) => p.registry.stack(n)) : p.registry.stacks.filter((s) => here.has(s.name))
  const skipped: Manifest['skipped'] = []
  const items: Item[] = []
  const notRunning: string[] = []
  const reach: ServiceReach = o.engine === 'swarm' ? swarmReach(ctx, p) : composeReach(ctx, { run: p.run, project: (s) => s.project }, p)
  for (const stack of stacks) {
    const enabled = new Set(p.plan(stack).enabled.map((s) => s.name))
    for (const service of stack.services) {
      const spec = service.backup
      const where = { stack: stack.name, service: service.name }
      if (!spec) {
        if (namedVolumeKeys(service.raw.volumes).length) {
          ctx.log.warn(`${stack.name}/${service.name} mounts volumes but declares no x-backup: not backed up`)
          skipped.push({ ...where, reason: 'no x-backup declared' })
        }
        continue
      }
      if (spec.method === 'none') {
        skipped.push({ ...where, reason: `x-backup none: ${spec.reason}` })
        continue
      }
      if (!enabled.has(service.name)) {
        skipped.push({ ...where, reason: here.has(stack.name) ? 'its profile is off' : `its stack is not in ${p.stacksVariable}` })
        continue
      }
      if (spec.method === 'volume') {
        const keys = spec.volumes ?? namedVolumeKeys(service.raw.volumes)
        const found: Item['volumes'] = []
        for (const key of keys) {
          const names = await reach.volumes(stack, key)
          if (names.length) found.push({ key, name: names[0] })
          else skipped.push({ ...where, reason: `volume ${key} does not exist yet` })
        }
        if (found.length) items.push({ stack, service, kind: 'volume', volumes: found })
        continue
      }
      const state = await reach.state(stack, service.name)
      if (state !== 'running') {
        notRunning.push(`${stack.name}/${service.name} (${state})`)
        continue
      }
      items.push({ stack, service, kind: spec.method, volumes: [] })
    }
  }
  if (notRunning.length)
    throw new FailureError(`${plural(notRunning.length, 'service')} to dump ${notRunning.length > 1 ? 'are' : 'is'} not running: ${notRunning.join(', ')}`, {
      hint: `a database or cache is dumped from its running server: start it (npx zx tasks/up.ts${o.stacks.length ? o.stacks.map((s) => ` --stack ${s}`).join('') : ''}), or leave its stack out with --stack`,
    })
  const secretFiles = o.includeSecrets ? SECRET_FILES.filter((f) => existsSync(join(ctx.root, f))) : []
  if (!items.length && !secretFiles.length) throw new FailureError('nothing to back up: no stateful service of the selected stacks has data yet', { hint: 'start the stacks first (npx zx tasks/up.ts)' })

  // the journal is read before anything is written: a damaged one stops the backup here (exit 2, with the fix)
  const journal = readJournal(ctx.root)
  const naming = (at: Date) => archiveName({ context: p.context, stacks: o.stacks.length ? stacks.map((s) => s.name) : undefined, now: at, encrypted: o.passphrase !== undefined })
  let now = o.now ?? new Date()
  // the name carries the time to the second: a second backup within the same second waits for the next one
  if (!o.now && existsSync(join(o.outDir, naming(now).name))) {
    await sleep(1005 - now.getMilliseconds())
    now = new Date()
  }
  const { name, prefix } = naming(now)
  const dest = join(o.outDir, name)
  if (existsSync(dest)) throw new FailureError(`${relative(ctx.root, dest)} exists already`, { hint: 'wait a second and run again' })
  await prepareBackupDir(ctx, o.outDir)
  const image = o.helperImage ?? helperImage(ctx.env)
  const tmp = ctx.dryRun ? undefined : await mkdtemp(workFolderPrefix(o.outDir))
  try {
    if (tmp) await chmod(tmp, 0o700)
    const entries: Array<ManifestEntry & { path?: string }> = []
    const file = (rel: string) => (tmp ? join(tmp, rel.replace(/\//g, '__')) : undefined)
    for (const it of items) {
      const where = `${it.stack.name}/${it.service.name}`
      ctx.log.step(`${where}: ${it.kind === 'pg_dump' ? 'pg_dump' : it.kind === 'snapshot' ? 'RDB snapshot' : `volume archive (${it.volumes.map((v) => v.key).join(', ')})`}`)
      const img = await imageOf(ctx, it.service, await reach.image(it.stack, it.service.name))
      const base = { stack: it.stack.name, service: it.service.name, project: it.stack.project, method: it.kind, ...img }
      if (it.kind === 'pg_dump') {
        const spec = it.service.backup as PgSpec
        const user = pgUser(it.service, spec)
        const exec = (cmd: string[]) => (runner: Runner, opts: { stdout?: Writable }) => reach.exec(runner, it.stack, it.service.name, cmd, opts)
        // a dry run runs nothing inside containers (not even this query): it shows one dump line for every database
        const listed = ctx.dryRun ? undefined : await reach.exec(ctx.exec, it.stack, it.service.name, pg.list(user))
        if (listed && listed.exitCode !== 0) throw new FailureError(`${where}: cannot list its databases: ${listed.stderr.trim().split('\n').pop()}`, { hint: `is ${user} its superuser? set x-backup.user` })
        const all = listed ? parseDatabaseList(listed.stdout) : (spec.databases ?? ['<each database>']).map((name) => ({ name, owner: '' }))
        const missing = (spec.databases ?? []).filter((d) => !all.some((x) => x.name === d))
        if (missing.length) throw new FailureError(`${where}: x-backup.databases names ${missing.join(', ')}, which ${missing.length > 1 ? 'do' : 'does'} not exist`, { hint: `its databases: ${all.map((d) => d.name).join(', ')}` })
        const dbs = spec.databases ? all.filter((d) => spec.databases!.includes(d.name)) : all
        if (spec.globals) {
          const rel = archivePath.globals(it.stack.name, it.service.name)
          const r = await dumpTo(ctx, exec(pg.globals(user)), file(rel), `${where}: pg_dumpall --globals-only`)
          if (r && tmp) {
            if (!PG_COMPLETE.test(r.tail.toString('utf8'))) throw new FailureError(`${where}: the roles dump is incomplete`, { hint: 'nothing was written to the backup folder; check the database (npx zx tasks/logs.ts) and run again' })
            // small: rewritten in place so that restoring it tolerates roles that exist
            const text = (await readFile(file(rel)!, 'utf8')).split('\n').map(tolerantRoles).join('\n')
            await writeFile(file(rel)!, text, { mode: 0o600 })
            entries.push({ ...base, kind: 'globals', file: rel, user, ...(await fileDigest(file(rel)!)), path: file(rel) })
          }
        }
        for (const db of dbs) {
          const rel = archivePath.database(it.stack.name, it.service.name, db.name)
          const r = await dumpTo(ctx, exec(pg.dump(user, db.name)), file(rel), `${where}: pg_dump ${db.name}`)
          if (!r) continue
          if (!PG_COMPLETE.test(r.tail.toString('utf8'))) throw new FailureError(`${where}: the dump of ${db.name} is incomplete`, { hint: 'nothing was written to the backup folder; check the database and run again' })
          entries.push({ ...base, kind: 'database', file: rel, database: db.name, owner: db.owner, user, size: r.size, sha256: r.sha256, path: file(rel) })
          // the database's own grants and settings: only a --create dump holds them
          const srel = archivePath.settings(it.stack.name, it.service.name, db.name)
          const d = await dumpTo(ctx, exec(pg.definition(user, db.name)), file(srel), `${where}: pg_dump --create --schema-only ${db.name}`)
          if (!d) continue
          if (!PG_COMPLETE.test(d.tail.toString('utf8'))) throw new FailureError(`${where}: the definition of ${db.name} is incomplete`, { hint: 'nothing was written to the backup folder; check the database and run again' })
          await writeFile(file(srel)!, databaseSettings(await readFile(file(srel)!, 'utf8'), db.name), { mode: 0o600 })
          entries.push({ ...base, kind: 'settings', file: srel, database: db.name, user, ...(await fileDigest(file(srel)!)), path: file(srel) })
        }
      } else if (it.kind === 'snapshot') {
        const spec = it.service.backup as SnapshotSpec
        const rel = archivePath.snapshot(it.stack.name, it.service.name, spec.file)
        const r = await dumpTo(ctx, (runner, opts) => reach.exec(runner, it.stack, it.service.name, snapshot.dump(spec), opts), file(rel), `${where}: ${spec.cli} --rdb`)
        if (!r) continue
        if (!r.head.subarray(0, 5).equals(snapshot.magic)) throw new FailureError(`${where}: ${spec.cli} --rdb did not produce an RDB file`, { hint: 'nothing was written to the backup folder; check the server (npx zx tasks/logs.ts)' })
        entries.push({ ...base, kind: 'snapshot', file: rel, volume: spec.volume, target: spec.file, size: r.size, sha256: r.sha256, path: file(rel) })
      } else {
        for (const v of it.volumes) {
          const rel = archivePath.volume(it.stack.name, it.service.name, v.key)
          const args = [...volume.runArgs(v.name, image, { readOnly: true, stdin: false }), ...volume.archive()]
          const r = await dumpTo(ctx, (runner, opts) => runner('docker', args, { ...opts, nothrow: true }), file(rel), `${where}: archive of volume ${v.name}`)
          if (!r) continue
          entries.push({ ...base, kind: 'volume', file: rel, volume: v.key, size: r.size, sha256: r.sha256, path: file(rel) })
        }
      }
    }
    const secrets: Manifest['secrets'] = []
    const secretData = new Map<string, Buffer>()
    for (const f of secretFiles) {
      const data = readFileSync(join(ctx.root, f))
      secretData.set(f, data)
      secrets.push({ name: f, file: archivePath.secret(f), size: data.length, sha256: createHash('sha256').update(data).digest('hex') })
    }
    const manifest: Manifest = {
      format: 'stackyard-backup',
      version: 1,
      createdAt: now.toISOString(),
      stackyard: o.stackyard ?? (await stackyardVersion(ctx)),
      context: p.context ?? null,
      environment: p.settings.environment,
      stacks: stacks.map((s) => s.name),
      entries: entries.map(({ path: _path, ...e }) => e),
      secrets,
      skipped,
    }
    const sources: EntrySource[] = [
      { name: MANIFEST_FILE, source: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') },
      ...entries.map((e) => ({ name: e.file, source: e.path! })),
      ...secrets.map((s) => ({ name: s.file, source: secretData.get(s.name)! })),
    ]
    const encrypted = o.passphrase !== undefined
    const what = `${relative(ctx.root, dest) || dest} (mode 0600${encrypted ? ', encrypted' : ''}${secrets.length ? `, with ${secrets.map((s) => s.name).join(' and ')}` : ''})`
    let written = { size: 0, sha256: '' }
    if (ctx.dryRun) ctx.skipped(`write ${what}`)
    else {
      written = await writeArchive(dest, sources, { passphrase: o.passphrase })
      ctx.log.success(`${what}: ${plural(entries.length, 'file')} from ${plural(new Set(entries.map((e) => `${e.stack}/${e.service}`)).size, 'service')}`)
    }
    // the journal: update --apply's freshness gate and backup --verify read it (atomic; a dry run says it would write)
    await ctx.writeFile(BACKUP_JOURNAL_FILE, withBackup(journal, journalEntry(dest, manifest)))
    const removed: string[] = []
    if (o.keep !== undefined) {
      // a dry run did not create the folder: nothing to prune yet
      const present = await readdir(o.outDir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' && ctx.dryRun) return []
        throw err
      })
      for (const old of retention(present, prefix, o.keep)) {
        if (ctx.dryRun) ctx.skipped(`delete ${relative(ctx.root, join(o.outDir, old))} (--keep ${o.keep})`)
        else await unlink(join(o.outDir, old))
        removed.push(old)
      }
      if (removed.length && !ctx.dryRun) ctx.log.info(`--keep ${o.keep}: deleted ${removed.join(', ')}`)
    }
    return { archive: ctx.dryRun ? null : dest, encrypted, size: written.size, sha256: written.sha256, manifest, removed }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true })
  }
}

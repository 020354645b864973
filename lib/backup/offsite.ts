// The offsite copy of the backups folder through restic: push (create the repository when missing, back up the
// archives, forget and prune by the retention policy), restore one archive from a snapshot into the backups folder,
// check, list. restic does the transfer, encryption, deduplication and checking; this file only decides what to ask
// it. Writes: the restored archive (private temp file, then renamed), and .env when it generates the password.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, readdirSync, statSync } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { FailureError, UsageError } from '../core/errors.ts'
import { which } from '../core/exec.ts'
import { registerSecret } from '../core/redact.ts'
import { archiveStamp } from './retention.ts'
import { WORK_PREFIX, prepareBackupDir } from '../core/backup-dir.ts'
import { PASSWORD_VARIABLE, readOffsiteSettings, type OffsiteSettings } from './offsite-settings.ts'
import { missingRepository, restic, type Restic, type Snapshot } from './restic.ts'
import type { TaskContext } from '../task/task.ts'
import type { FlagDecls } from '../core/flags.ts'

export type OffsiteCtx = Pick<TaskContext<FlagDecls>, 'root' | 'dryRun' | 'log' | 'exec' | 'change' | 'skipped' | 'editEnv' | 'env' | 'rel'>

/** What a push leaves out of the backups folder: work folders of running or killed backups, temp files of writes. */
export const PUSH_EXCLUDES = [`${WORK_PREFIX}*`, '.*.tmp'] as const

async function open(ctx: OffsiteCtx): Promise<{ settings: OffsiteSettings; client: Restic }> {
  const settings = readOffsiteSettings(ctx.env)
  if (!(await which('restic'))) throw new UsageError('restic is not installed (no `restic` on PATH)', { hint: 'install it: apt-get install restic (Debian/Ubuntu), or https://restic.net' })
  return { settings, client: restic(settings, ctx) }
}

export interface PushReport {
  repository: string
  initialized: boolean
  passwordGenerated: boolean
  archives: string[]
  snapshot?: string
  /** false when the newest snapshot already held these archives (nothing was backed up) */
  copied: boolean
  filesNew: number
  dataAdded: number
  forgotten: string[]
  pruned: boolean
}

/** Backs up the archives of `dir` to the repository (created first when missing), then applies the retention policy. */
export async function push(ctx: OffsiteCtx, dir: string): Promise<PushReport> {
  const { settings, client } = await open(ctx)
  const archives = listArchives(dir)
  if (!archives.length) throw new FailureError(`no backup archive in ${ctx.rel(dir)} to copy`, { hint: 'make one first: npx zx tasks/backup.ts' })
  let initialized = false
  let passwordGenerated = false
  if ((await client.probe()) === 'missing') {
    if (!settings.password) {
      // a new repository gets a new password, kept with the other secrets (.env, 0600, previous file as .env.bak);
      // written before `restic init`, so no repository can exist whose password was not saved
      settings.password = randomBytes(32).toString('base64url')
      registerSecret(settings.password)
      await ctx.editEnv('.env', { [PASSWORD_VARIABLE]: settings.password }, { mode: 0o600 })
      passwordGenerated = true
      if (!ctx.dryRun) ctx.log.warn(`${PASSWORD_VARIABLE} generated into .env: keep a copy away from this machine (a password manager); without it the offsite copy cannot be read. Show it with: npx zx tasks/env.ts --reveal ${PASSWORD_VARIABLE}`)
    }
    await restic(settings, ctx).init()
    initialized = true
    if (!ctx.dryRun) ctx.log.success(`created the restic repository ${settings.shown}`)
  } else if (!settings.password) throw new UsageError(`${PASSWORD_VARIABLE} is not set`, { hint: `set it in .env to the password ${settings.shown} was created with` })
  const c = initialized ? restic(settings, ctx) : client
  // archives are never rewritten under their name: the newest snapshot holding the same files is this folder
  const same = initialized ? undefined : await sameAsNewest(ctx, c, dir, archives)
  const b = same ? { snapshot: same, filesNew: 0, dataAdded: 0, skipped: true } : await c.backup(dir, PUSH_EXCLUDES)
  const f = await c.forget(settings.keep)
  if (f.removed.length) await c.prune()
  const forgot = f.removed.length ? `${f.removed.length} old snapshot(s) forgotten and pruned` : 'nothing to forget'
  if (same) ctx.log.success(`${settings.shown}: snapshot ${same.slice(0, 8)} already holds these ${archives.length} archive(s): nothing to copy; ${forgot} (${settings.keepText})`)
  else if (!ctx.dryRun) ctx.log.success(`${settings.shown}: snapshot ${b.snapshot?.slice(0, 8)} of ${archives.length} archive(s) (${b.filesNew} new, ${b.dataAdded} bytes added); ${forgot} (${settings.keepText})`)
  return { repository: settings.shown, initialized, passwordGenerated, archives, ...(b.snapshot ? { snapshot: b.snapshot } : {}), copied: !b.skipped, filesNew: b.filesNew, dataAdded: b.dataAdded, forgotten: f.removed, pruned: f.removed.length > 0 }
}

/** The newest Stackyard snapshot of this folder, when it holds exactly these archives (names, sizes, modification times). */
async function sameAsNewest(ctx: OffsiteCtx, c: Restic, dir: string, archives: string[]): Promise<string | undefined> {
  const newest = (await c.snapshots()).filter((s) => s.paths.length === 1 && s.paths[0] === dir).sort((a, b) => a.time.localeCompare(b.time)).pop()
  if (!newest) return undefined
  const held = (await c.ls(newest.id)).filter((n) => n.type === 'file' && dirname(n.path) === dir && archiveStamp(n.name) !== undefined)
  const local = new Map(archives.map((a) => [a, statSync(join(dir, a))]))
  // the same names, sizes and modification times (restic's own test for an unchanged file)
  const same = held.length === local.size && held.every((n) => {
    const l = local.get(n.name)
    return l !== undefined && l.size === n.size && n.mtime !== undefined && Math.abs(Date.parse(n.mtime) - l.mtimeMs) < 1
  })
  if (same) ctx.log.debug(`snapshot ${newest.id.slice(0, 8)} holds the same ${local.size} archive(s)`)
  return same ? newest.id : undefined
}

/** The backup archives directly in `dir`, oldest first. */
export function listArchives(dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names.filter((n) => archiveStamp(n) !== undefined && statSync(join(dir, n), { throwIfNoEntry: false })?.isFile()).sort((a, b) => archiveStamp(a)!.localeCompare(archiveStamp(b)!) || a.localeCompare(b))
}

export interface SnapshotListing {
  snapshot: Snapshot
  archives: Array<{ name: string; size?: number; path: string }>
}

async function ready(ctx: OffsiteCtx): Promise<{ settings: OffsiteSettings; client: Restic }> {
  const o = await open(ctx)
  if (!o.settings.password) throw new UsageError(`${PASSWORD_VARIABLE} is not set`, { hint: `set it in .env to the password ${o.settings.shown} was created with` })
  return o
}

/** The Stackyard snapshots, oldest first, and the archives of one (`which`: an id or its prefix; default the newest). */
export async function listSnapshot(ctx: OffsiteCtx, which?: string): Promise<{ snapshots: Snapshot[]; listing?: SnapshotListing; repository: string }> {
  const { settings, client } = await ready(ctx)
  const snapshots = (await client.snapshots()).sort((a, b) => a.time.localeCompare(b.time))
  if (!snapshots.length) return { snapshots, repository: settings.shown }
  const snapshot = pickSnapshot(snapshots, which, settings.shown)
  const nodes = await client.ls(snapshot.id)
  const archives = nodes
    .filter((n) => n.type === 'file' && archiveStamp(n.name) !== undefined && snapshot.paths.includes(dirname(n.path)))
    .sort((a, b) => archiveStamp(a.name)!.localeCompare(archiveStamp(b.name)!) || a.name.localeCompare(b.name))
    .map((n) => ({ name: n.name, path: n.path, ...(n.size !== undefined ? { size: n.size } : {}) }))
  return { snapshots, listing: { snapshot, archives }, repository: settings.shown }
}

function pickSnapshot(snapshots: Snapshot[], which: string | undefined, shown: string): Snapshot {
  if (!which || which === 'latest') return snapshots[snapshots.length - 1]
  const found = snapshots.filter((s) => s.id.startsWith(which))
  if (found.length !== 1) throw new UsageError(`--snapshot ${which}: ${found.length ? 'more than one snapshot starts with it' : `no Stackyard snapshot in ${shown} has that id`}`, { hint: 'list them: npx zx tasks/offsite.ts list' })
  return found[0]
}

export interface RestoreReport {
  repository: string
  snapshot: string
  archive: string
  path: string
  sha256?: string
  size?: number
  /** false when the same file was already there */
  written: boolean
}

/** Brings one archive of a snapshot (default: the newest archive of the newest snapshot) back into `dir`. */
export async function restoreArchive(ctx: OffsiteCtx, dir: string, o: { archive?: string; snapshot?: string }): Promise<RestoreReport> {
  const { settings, client } = await ready(ctx)
  const { snapshots, listing } = await listSnapshot(ctx, o.snapshot)
  if (!snapshots.length || !listing) throw new FailureError(`${settings.shown} holds no Stackyard snapshot`, { hint: 'copy the archives there first: npx zx tasks/offsite.ts push' })
  const wanted = o.archive ? basename(o.archive) : undefined
  const node = wanted ? listing.archives.find((a) => a.name === wanted) : listing.archives[listing.archives.length - 1]
  if (!node)
    throw new UsageError(`${wanted ? `${wanted} is not` : 'no archive is'} in snapshot ${listing.snapshot.id.slice(0, 8)} (${listing.snapshot.time})`, { hint: 'list what it holds: npx zx tasks/offsite.ts list [--snapshot ID]' })
  const target = join(dir, node.name)
  const base = { repository: settings.shown, snapshot: listing.snapshot.id, archive: node.name, path: target }
  if (ctx.dryRun) {
    ctx.skipped(`restic dump ${listing.snapshot.id.slice(0, 8)} ${node.path} > ${ctx.rel(target)} (mode 0600)`)
    return { ...base, written: false }
  }
  await prepareBackupDir(ctx, dir)
  const tmp = join(dir, `.${node.name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await client.dump(listing.snapshot.id, node.path, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }))
    const size = statSync(tmp).size
    if (node.size !== undefined && size !== node.size) throw new FailureError(`restic dump gave ${size} bytes of ${node.name}; the snapshot lists ${node.size}`, { hint: 'run npx zx tasks/offsite.ts check' })
    const sha256 = await sha256Of(tmp)
    const existing = statSync(target, { throwIfNoEntry: false })
    if (existing) {
      if (existing.isFile() && (await sha256Of(target)) === sha256) {
        ctx.log.info(`${ctx.rel(target)} is already there, the same bytes`)
        return { ...base, sha256, size, written: false }
      }
      throw new UsageError(`${ctx.rel(target)} exists and differs from the copy in ${settings.shown}: nothing was replaced`, { hint: `move it away first, or restore into another folder (--out DIR)` })
    }
    await rename(tmp, target)
    ctx.log.success(`${ctx.rel(target)}: restored from snapshot ${listing.snapshot.id.slice(0, 8)} (${size} bytes, sha256 ${sha256.slice(0, 12)}…)`)
    return { ...base, sha256, size, written: true }
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** restic check (with --read-data: every pack downloaded and verified); restic's report. */
export async function checkRepository(ctx: OffsiteCtx, readData: boolean): Promise<{ repository: string; report: string }> {
  const { settings, client } = await ready(ctx)
  if ((await client.probe()) === 'missing') throw missingRepository(settings)
  return { repository: settings.shown, report: await client.check(readData) }
}

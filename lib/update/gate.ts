// update --apply's backup gate: whether each stateful service about to be recreated has a backup in the journal young
// enough (judged purely); --backup takes one first, through the context (dry-run aware).
import { resolve } from 'node:path'
import { FailureError } from '../core/errors.ts'
import type { Registry } from '../model/registry.ts'
import type { StackCtx } from '../docker/platform.ts'
import { lastBackupOf, readJournal, withBackup, type BackupJournal, type JournalEntry } from '../backup/journal.ts'
import { backup } from '../backup/backup.ts'
import { BACKUP_DIR } from '../core/backup-dir.ts'
import { plural } from '../core/format.ts'
import type { Engine } from '../model/x-fields.ts'

export interface GateService {
  stack: string
  service: string
}

export interface GateDecision extends GateService {
  /** verified: a drilled backup young enough; unverified: a young enough one no drill has proven (counts, warned) */
  verdict: 'verified' | 'unverified' | 'stale' | 'none'
  /** the backup the verdict rests on (for stale: the newest that would count if it were younger) */
  archive?: string
  dir?: string
  at?: string
  verifiedAt?: string
  ageMs?: number
  /** the newest backup of the service failed its restore drill (it does not count) */
  failedDrill?: string
}

/** The services about to be recreated that hold state: their x-backup declares a method other than none. */
export function statefulServices(registry: Pick<Registry, 'stacks'>, changed: readonly GateService[]): GateService[] {
  return changed.filter((c) => {
    const spec = registry.stacks.find((s) => s.name === c.stack)?.services.find((s) => s.name === c.service)?.backup
    return spec !== undefined && spec.method !== 'none'
  })
}

/**
 * Each service's verdict against the journal at `now`, with `maxAge` ms allowed (null: any age counts). A backup whose
 * restore drill passed is preferred; a young one no drill has proven counts (unverified, warned); one whose last drill
 * failed never counts.
 */
export function judgeBackups(journal: BackupJournal, services: readonly GateService[], o: { now: number; maxAge: number | null }): GateDecision[] {
  const young = (e: JournalEntry) => o.maxAge === null || o.now - Date.parse(e.at) <= o.maxAge
  const facts = (e: JournalEntry) => ({ archive: e.archive, dir: e.dir, at: e.at, ageMs: Math.max(0, o.now - Date.parse(e.at)), ...(e.verifiedAt && e.verifyOk ? { verifiedAt: e.verifiedAt } : {}) })
  return services.map((s) => {
    const newest = lastBackupOf(journal, s.stack, s.service)
    const failedDrill = newest?.verifyOk === false ? newest.archive : undefined
    const verified = lastBackupOf(journal, s.stack, s.service, { verified: true })
    if (verified && young(verified)) return { ...s, verdict: 'verified', ...facts(verified) }
    // the newest backup whose drill did not fail (not drilled yet, or drilled and passed)
    const counting = journal.entries
      .filter((e) => e.verifyOk !== false && e.services.some((x) => x.stack === s.stack && x.service === s.service))
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0]
    if (counting && young(counting)) return { ...s, verdict: 'unverified', ...facts(counting), ...(failedDrill ? { failedDrill } : {}) }
    if (counting) return { ...s, verdict: 'stale', ...facts(counting), ...(failedDrill ? { failedDrill } : {}) }
    return { ...s, verdict: 'none', ...(failedDrill ? { failedDrill } : {}) }
  })
}

export const refused = (d: GateDecision) => d.verdict === 'stale' || d.verdict === 'none'

/** How long ago, roughly: 40 min, 5 h, 3 d. */
export function ago(ms: number): string {
  const min = Math.round(ms / 60_000)
  if (min < 60) return `${min} min`
  const h = Math.round(ms / 3_600_000)
  return h < 48 ? `${h} h` : `${Math.round(ms / 86_400_000)} d`
}

/** One line per decision, for the log. */
export function describe(d: GateDecision): string {
  const name = `${d.stack}/${d.service}`
  const failed = d.failedDrill ? `; the restore drill of ${d.failedDrill} failed, so it does not count` : ''
  if (d.verdict === 'none') return `${name}: no backup${failed}`
  const last = `${d.archive}, ${ago(d.ageMs!)} ago`
  if (d.verdict === 'verified') return `${name}: backed up (${last}), restore drill passed`
  if (d.verdict === 'unverified') return `${name}: backed up (${last}), not yet proven by a restore drill${failed}`
  return `${name}: last backup too old (${last})${failed}`
}

/** The refusal: what, for which services, and the three ways on. */
export function refusal(decisions: readonly GateDecision[], maxAgeText: string): FailureError {
  const bad = decisions.filter(refused)
  const stacks = [...new Set(bad.map((d) => d.stack))]
  return new FailureError(
    `update --apply refused: ${plural(bad.length, 'stateful service')} about to be recreated ${bad.length === 1 ? 'has' : 'have'} no backup younger than ${maxAgeText}; nothing was recreated\n${bad.map((d) => `  ${describe(d)}`).join('\n')}`,
    { hint: `add --backup (backs up ${stacks.join(', ')} first, then applies), or run npx zx tasks/backup.ts${stacks.map((s) => ` --stack ${s}`).join('')} and apply again; --backup-max-age DURATION (or off) overrides STACKYARD_UPDATE_BACKUP_MAX_AGE for one run` },
  )
}

/**
 * --backup: one archive of exactly `stacks` (the backup library, into backups/, no secret files; it records the archive
 * in the journal). Returns the journal as it is afterwards (under --dry-run: as it would be, nothing written).
 */
export async function backupFirst(ctx: StackCtx, stacks: readonly string[], stateful: readonly GateService[], engine: Engine = 'compose'): Promise<BackupJournal> {
  const outDir = resolve(ctx.root, BACKUP_DIR)
  ctx.log.step(`backing up ${stacks.join(', ')} before recreating`)
  const report = await backup(ctx, { stacks, outDir, includeSecrets: false, engine })
  const journal = readJournal(ctx.root)
  if (report.archive) return journal
  // a dry run dumps nothing, so its manifest lists no files: it would hold every stateful service it did not skip
  const skipped = new Set(report.manifest.skipped.map((s) => `${s.stack}/${s.service}`))
  const services = stateful.filter((s) => stacks.includes(s.stack) && !skipped.has(`${s.stack}/${s.service}`))
  const entry: JournalEntry = { archive: '(dry run)', dir: outDir, at: report.manifest.createdAt, services: services.map((s) => ({ stack: s.stack, service: s.service })) }
  return JSON.parse(withBackup(journal, entry)) as BackupJournal
}

export interface GateOptions {
  /** ms; null: the gate is off */
  maxAge: number | null
  /** how the age was given, for messages (24h, or the flag's value) */
  maxAgeText: string
  /** --backup: take one first */
  backup: boolean
  /** the engine the stacks run on (the backup reaches their services through it) */
  engine?: Engine
  now?: () => number
}

/**
 * The gate before an apply: the stateful services among `changed` must have a fresh backup (taken first with
 * --backup). Returns the decisions; when any is refused the caller throws `refusal(…)` before recreating anything.
 */
export async function checkBackups(ctx: StackCtx, registry: Pick<Registry, 'stacks'>, changed: readonly GateService[], o: GateOptions): Promise<GateDecision[]> {
  const stateful = statefulServices(registry, changed)
  if (!stateful.length) return []
  const now = o.now ?? Date.now
  if (o.maxAge === null && !o.backup) {
    ctx.log.warn(`backup check off (${o.maxAgeText}): recreating ${stateful.map((s) => `${s.stack}/${s.service}`).join(', ')} without looking for a backup`)
    return []
  }
  const journal = o.backup ? await backupFirst(ctx, [...new Set(stateful.map((s) => s.stack))], stateful, o.engine) : readJournal(ctx.root)
  const decisions = judgeBackups(journal, stateful, { now: now(), maxAge: o.maxAge })
  for (const d of decisions) {
    if (d.verdict === 'verified') ctx.log.info(describe(d))
    else if (d.verdict === 'unverified') ctx.log.warn(`${describe(d)}: it counts; prove it with npx zx tasks/backup.ts --verify`)
  }
  return decisions
}

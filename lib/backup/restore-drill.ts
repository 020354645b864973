// `backup --verify`: a restore drill. The archive is opened, verified and planned exactly as `restore` does
// (lib/backup/restore.ts), then restored with the same code into throwaway compose projects beside the platform
// (stackyard-verify-<pid>-<hex>-<stack>: their own containers, volumes and network, no published ports), probed
// (lib/backup/drill-probes.ts), and removed — also on failure and on Ctrl-C; a killed drill's leftovers go at the next one.
// The platform's containers, volumes, networks and files are never touched; the journal records the verdict.
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { composeArgs, upCommand } from '../docker/compose.ts'
import { FailureError } from '../core/errors.ts'
import { checkDocker } from '../docker/preflight.ts'
import { loadPlatform, type Platform, type StackCtx } from '../docker/platform.ts'
import { composeReach } from './reach.ts'
import { closeBackup, openBackup, planRestore, restoreServices, stageBackup, type OpenedBackup, type ServiceRestore } from './restore.ts'
import { DRILL_LABEL, drillCompose, drillId, drillProject } from './drill-plan.ts'
import { drillDir, removeDrills, removeDrillSync, sweepDrillDirs } from './drill-cleanup.ts'
import { healthChecks, pgChecks, snapshotChecks, volumeChecks, type DrillCheck } from './drill-probes.ts'
import { BACKUP_JOURNAL_FILE, readJournal, withVerify } from './journal.ts'
import { readYamlFile } from '../core/yaml-file.ts'
import { STATE_DIR } from '../core/paths.ts'
import { plural, table } from '../core/format.ts'
import { color } from '../core/log.ts'
import type { Stack } from '../model/registry.ts'

export interface DrillService {
  stack: string
  service: string
  method: string
  ok: boolean
  checks: DrillCheck[]
}

export interface DrillReport {
  archive: string
  createdAt: string
  encrypted: boolean
  /** files whose checksum was verified (the manifest included) */
  verified: number
  id: string
  ok: boolean
  services: DrillService[]
  /** the restore itself failed: where and why (the probes did not run) */
  restoreError?: string
  /** parts of a service definition the drill left out (read-write bind mounts) */
  dropped: string[]
  /** leftovers of earlier, killed drills removed first */
  swept: string[]
  /** what could not be removed at the end (the next drill tries again) */
  leftovers: string[]
  verifiedAt?: string
  dryRun: boolean
}

export interface DrillOptions {
  passphrase?: () => Promise<string>
  helperImage: string
  /** seconds a started service may take to become healthy */
  timeout: number
  now?: () => Date
}

/** Each stack's part of the drill: its project, compose file and services, in restore order. */
interface DrillStack {
  stack: Stack
  project: string
  file: string
  services: ServiceRestore[]
}

/** The platform as the drill sees it: every compose call goes to the stack's throwaway project and compose file. */
function drillPlatform(p: Platform, parts: ReadonlyMap<string, DrillStack>): Platform {
  const invocation = (stack: Stack) => {
    const part = parts.get(stack.name)
    if (!part) throw new Error(`the drill has no part for ${stack.name}`)
    return { stack: { ...stack, project: part.project }, files: [part.file], envFiles: p.plan(stack).invocation.envFiles, profiles: [] }
  }
  const args = (stack: Stack, sub: readonly string[]) => composeArgs(invocation(stack), sub)
  return { ...p, args, run: (runner, stack, sub, opts) => runner('docker', args(stack, sub), { nothrow: true, ...opts, env: { ...p.env, ...opts?.env } }) }
}

async function probe(ctx: StackCtx, drill: Platform, part: DrillStack, s: ServiceRestore, opened: OpenedBackup, o: DrillOptions, id: string): Promise<DrillService> {
  const method = s.entries[0]?.method ?? 'volume'
  const result = (checks: DrillCheck[]): DrillService => ({ stack: s.stack.name, service: s.service, method, ok: checks.every((c) => c.ok), checks })
  if (method === 'volume') return result(await volumeChecks(ctx, part.project, s, opened, o.helperImage, { [DRILL_LABEL]: id }))
  if (method === 'snapshot') {
    // restored into its volume with the service created, not started: start it now on the snapshot
    ctx.log.step(`${s.stack.name}/${s.service}: starting it on the restored snapshot`)
    const r = await drill.run(ctx.change, s.stack, upCommand({ timeout: o.timeout, services: [s.service] }))
    if (r.exitCode !== 0) return result([{ check: 'start', ok: false, detail: r.stderr.trim().split('\n').slice(-2).join(' ') || `exit ${r.exitCode}` }])
  }
  const health = await healthChecks(ctx, drill, s)
  if (!health[0].ok) return result(health)
  return result([...health, ...(method === 'pg_dump' ? await pgChecks(ctx, drill, s, opened) : await snapshotChecks(ctx, drill, s, opened))])
}

/**
 * Runs a drill of one archive. An archive that cannot be opened, verified or planned is an ArchiveError/ConfigError
 * (exit 2) before anything is made; a restore or probe failure is a report with ok: false (the task exits 1).
 */
export async function runDrill(ctx: StackCtx, archive: string, o: DrillOptions): Promise<DrillReport> {
  readJournal(ctx.root) // damaged: exit 2 now, not after the drill (read again when the verdict is written)
  const opened = await openBackup(archive, o.passphrase)
  try {
    const plan = planRestore(ctx.registry, opened.manifest, [], { secrets: false })
    const report: DrillReport = { archive, createdAt: opened.manifest.createdAt, encrypted: opened.encrypted, verified: opened.verified, id: '', ok: false, services: [], dropped: [], swept: [], leftovers: [], dryRun: ctx.dryRun }
    ctx.log.success(`${ctx.rel(archive)}: ${opened.verified} files verified (sha256)${opened.encrypted ? ', decrypted and authenticated' : ''}`)
    if (!plan.services.length) throw new FailureError(`${basename(archive)} holds no data of a stateful service: nothing to drill`, { hint: 'back up a running platform first: npx zx tasks/backup.ts' })
    await checkDocker(ctx)
    const p = loadPlatform(ctx, { profiles: 'declared', generating: false })

    // a killed drill's leftovers first (their process is gone)
    const swept = await removeDrills(ctx, { stale: true })
    report.swept = [...swept.containers, ...swept.volumes, ...swept.networks, ...(await sweepDrillDirs(ctx.root, ctx.dryRun)).map((d) => `${STATE_DIR}/${d}`)]
    if (report.swept.length && !ctx.dryRun) ctx.log.warn(`removed what a killed drill left: ${report.swept.join(', ')}`)

    const id = drillId(process.pid, randomBytes(3).toString('hex'))
    report.id = id
    const dir = drillDir(ctx.root, id)
    const parts = new Map<string, DrillStack>()
    for (const stack of plan.stacks) {
      const services = plan.services.filter((s) => s.stack === stack)
      if (!services.length) continue
      const project = drillProject(id, stack)
      const doc = (readYamlFile(join(ctx.root, stack.file), stack.file).data ?? {}) as { secrets?: unknown; configs?: unknown }
      const c = drillCompose(stack, services.map((s) => s.service), project, id, { secrets: doc.secrets, configs: doc.configs })
      report.dropped.push(...c.dropped.map((d) => `${stack.name}/${d}`))
      parts.set(stack.name, { stack, project, file: join(dir, `${stack.name}.json`), services })
      if (ctx.dryRun) ctx.skipped(`write ${ctx.rel(join(dir, `${stack.name}.json`))} (compose project ${project}: ${services.map((s) => s.service).join(', ')})`)
      else {
        await mkdir(dir, { recursive: true, mode: 0o700 })
        await chmod(dir, 0o700)
        // no secret in it: ${VAR} references that Compose fills from the env layers, as for the platform
        await writeFile(join(dir, `${stack.name}.json`), JSON.stringify(c.doc, null, 2) + '\n', { mode: 0o600 })
      }
    }
    for (const d of report.dropped) ctx.log.info(`left out of the drill: ${d}`)
    const drill = drillPlatform(p, parts)

    // Ctrl-C: the task harness exits at once, so this runs first and removes everything synchronously
    const onInterrupt = () => removeDrillSync(ctx.dockerContext, id, [dir, ...(opened.dir ? [opened.dir] : [])])
    process.prependListener('SIGINT', onInterrupt)
    try {
      if (!ctx.dryRun) await stageBackup(ctx.root, opened, plan)
      try {
        await restoreServices(ctx, composeReach(ctx, { run: drill.run, project: (s) => parts.get(s.name)!.project }), opened, plan, { ...o, helperLabels: { [DRILL_LABEL]: id } })
      } catch (err) {
        if (!(err instanceof FailureError)) throw err
        report.restoreError = err.message
      }
      if (!ctx.dryRun && report.restoreError === undefined)
        for (const part of parts.values()) for (const s of part.services) report.services.push(await probe(ctx, drill, part, s, opened, o, id))
    } finally {
      const removed = await removeDrills(ctx, { id })
      report.leftovers = removed.failed
      if (!ctx.dryRun) await rm(dir, { recursive: true, force: true })
      process.removeListener('SIGINT', onInterrupt)
    }
    report.ok = report.restoreError === undefined && report.services.length > 0 && report.services.every((s) => s.ok)
    if (!ctx.dryRun) {
      report.verifiedAt = (o.now?.() ?? new Date()).toISOString()
      const services = [...new Map(opened.manifest.entries.map((e) => [`${e.stack}/${e.service}`, { stack: e.stack, service: e.service }])).values()]
      await ctx.writeFile(BACKUP_JOURNAL_FILE, withVerify(readJournal(ctx.root), { archive: basename(archive), dir: dirname(archive), at: opened.manifest.createdAt, services }, report.verifiedAt, report.ok))
    }
    return report
  } finally {
    await closeBackup(opened)
  }
}

/** The report as a table: one line per check. */
export function renderDrill(r: DrillReport): string {
  const rows = [['', 'service', 'check', 'detail']]
  for (const s of r.services) for (const c of s.checks) rows.push([c.ok ? color.green('ok') : color.red('FAIL'), `${s.stack}/${s.service}`, c.check, c.detail])
  const restore = r.restoreError ? `\n${color.red('FAIL')} restore: ${r.restoreError}` : ''
  return `restore drill of the backup of ${r.createdAt} (${plural(r.services.length, 'service')})\n${rows.length > 1 ? table(rows) : ''}${restore}`
}

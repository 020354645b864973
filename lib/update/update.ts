// Image updates: pull newer images without restarting anything, report per service what changed (running image →
// pulled image), and with --apply recreate only the services whose image changed, waiting for health. The images
// running before an apply are recorded in .stackyard/image-history.json; rollback re-tags the recorded image under
// the service's reference (pulling it by digest if it was pruned) and recreates those services. An apply whose
// recreated service does not become healthy puts that service back the same way, on its own, and records it. Changes
// go through the context (dry-run aware).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { FailureError } from '../core/errors.ts'
import type { Stack } from '../model/registry.ts'
import { upCommand } from '../docker/compose.ts'
import { parseConfigImages, parseContainerInspect, parseImageInspect, shortDigest, type ImageInfo } from '../docker/state.ts'
import { diagnoseStack, renderDiagnosis } from '../docker/diagnose.ts'
import { duration, plural, table, parseJsonAs } from '../core/format.ts'
import { STATE_DIR } from '../core/paths.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { stackRows } from '../stacks/status.ts'
import type { Engine } from '../model/x-fields.ts'
import { runningTask } from '../swarm/tasks.ts'

export const HISTORY_FILE = `${STATE_DIR}/image-history.json`

const Image = z.object({ id: z.string(), repoDigest: z.string().optional() })
const Recorded = z.object({ stack: z.string(), service: z.string(), image: z.string(), from: Image, to: Image })
const Entry = z.object({
  at: z.string(),
  /** every changed service was recreated and became healthy */
  applied: z.boolean(),
  /** no service of the entry runs its new image any more (a later --rollback goes to the entry before) */
  rolledBack: z.boolean(),
  services: z.array(Recorded),
  /** the apply itself put back the services that did not become healthy (`stack/service`), and whether they then were */
  autoRollback: z.object({ at: z.string(), services: z.array(z.string()), healthy: z.boolean() }).optional(),
})
const History = z.object({ entries: z.array(Entry) })
export type HistoryEntry = z.infer<typeof Entry>
type RecordedService = z.infer<typeof Recorded>

export interface ImageChange {
  stack: string
  service: string
  image: string
  /** the image the running container uses (undefined: not running) */
  running?: ImageInfo
  /** what the reference points at after the pull */
  pulled?: ImageInfo
  status: 'changed' | 'up to date' | 'not running' | 'not pulled'
}

async function inspectImage(ctx: Pick<StackCtx, 'exec'>, ref: string): Promise<ImageInfo | undefined> {
  const r = await ctx.exec('docker', ['image', 'inspect', ref], { nothrow: true })
  return r.exitCode === 0 ? parseImageInspect(r.stdout, ref) : undefined
}

/** service → image id of its running container (under swarm: of its running task's container on this node) */
async function runningImages(ctx: Pick<StackCtx, 'exec'>, p: Platform, stack: Stack, engine: Engine = 'compose'): Promise<Map<string, string>> {
  const rows: Array<{ Service: string; Name: string }> = []
  if (engine === 'swarm')
    for (const s of stack.services) {
      const t = await runningTask(ctx.exec, stack.project, s.name)
      if (t) rows.push({ Service: s.name, Name: t.container })
    }
  else rows.push(...(await stackRows(ctx, p, stack)).filter((r) => r.State === 'running'))
  const out = new Map<string, string>()
  for (const row of rows) {
    const r = await ctx.exec('docker', ['inspect', row.Name], { nothrow: true })
    const c = r.exitCode === 0 ? parseContainerInspect(r.stdout) : undefined
    if (c?.Image) out.set(row.Service, c.Image)
  }
  return out
}

/** Pulls the images of one stack's enabled services and compares them with what runs. */
export async function pullStack(ctx: Pick<StackCtx, 'exec' | 'change' | 'dryRun'>, p: Platform, stack: Stack, engine: Engine = 'compose'): Promise<ImageChange[]> {
  const config = await p.run(ctx.exec, stack, ['config', '--format', 'json'])
  if (config.exitCode !== 0) throw new FailureError(`docker compose config failed for ${stack.name}:\n${config.stderr.trim().split('\n').slice(-4).join('\n')}`, { hint: 'npx zx tasks/doctor.ts checks the configuration' })
  const images = parseConfigImages(config.stdout)
  const running = await runningImages(ctx, p, stack, engine)
  const pull = await p.run(ctx.change, stack, ['pull', '--quiet'])
  if (pull.exitCode !== 0) throw new FailureError(`docker compose pull failed for ${stack.name}:\n${pull.stderr.trim().split('\n').slice(-6).join('\n')}`, { hint: 'check the network and the image names; nothing was restarted' })
  const changes: ImageChange[] = []
  for (const [service, image] of Object.entries(images).sort()) {
    const pulled = await inspectImage(ctx, image)
    const runId = running.get(service)
    const runInfo = runId ? ((await inspectImage(ctx, runId)) ?? { id: runId }) : undefined
    const status: ImageChange['status'] = !pulled ? 'not pulled' : !runInfo ? 'not running' : runInfo.id === pulled.id ? 'up to date' : 'changed'
    changes.push({ stack: stack.name, service, image, running: runInfo, pulled, status })
  }
  return changes
}

export function readHistory(root: string): HistoryEntry[] {
  const abs = join(root, HISTORY_FILE)
  if (!existsSync(abs)) return []
  const history = parseJsonAs(History, readFileSync(abs, 'utf8'))
  if (!history) throw new FailureError(`${HISTORY_FILE} is not the JSON update writes`, { hint: `move it aside; it only matters for --rollback` })
  return history.entries
}

export async function writeHistory(ctx: Pick<StackCtx, 'writeFile'>, entries: HistoryEntry[]): Promise<void> {
  await ctx.writeFile(HISTORY_FILE, JSON.stringify({ entries: entries.slice(-20) }, null, 2) + '\n', { mode: 0o644 })
}

/**
 * Recreates the given services of one stack (`up --no-deps --force-recreate`, waited for health). Returns the
 * services that did not become healthy (their diagnosis logged); empty when all did.
 */
async function recreate(ctx: Pick<StackCtx, 'exec' | 'change' | 'log' | 'dryRun'>, p: Platform, stack: Stack, services: string[], timeout: number): Promise<string[]> {
  const started = Date.now()
  ctx.log.step(`${stack.name}: recreating ${services.join(', ')}`)
  const r = await p.run(ctx.change, stack, upCommand({ timeout, services, forceRecreate: true }))
  if (r.exitCode !== 0) {
    const d = await diagnoseStack(ctx, p, stack, r.stderr || r.stdout, { services })
    ctx.log.error(`${stack.name}: ${services.join(', ')} did not become healthy (waited up to ${timeout} s)\n${renderDiagnosis(d)}`)
    // Compose failed but every service looks healthy now (it turned healthy late): all of them stay suspect
    return d.services.length ? d.services.map((s) => s.service) : services
  }
  if (!ctx.dryRun) ctx.log.success(`${stack.name}: ${services.join(', ')} recreated and healthy (${duration(Date.now() - started)})`)
  return []
}

/**
 * Puts recorded services of one stack back on the image that ran before (`docker tag <old id> <image>`, pulling the
 * old image by its digest if it was pruned) and recreates them, waiting for health. Services already running their
 * old image are left alone. The one copy of this procedure: --rollback and an apply's own rollback both use it.
 * Returns the services it put back that did not become healthy.
 */
async function restoreImages(ctx: StackCtx, p: Platform, stack: Stack, wanted: readonly RecordedService[], timeout: number): Promise<string[]> {
  const running = await runningImages(ctx, p, stack)
  const todo: string[] = []
  for (const s of wanted) {
    if (running.get(s.service) === s.from.id) {
      ctx.log.info(`${s.stack}/${s.service}: already runs ${shortDigest(s.from.repoDigest ?? s.from.id)}`)
      continue
    }
    if (!(await inspectImage(ctx, s.from.id))) {
      if (!s.from.repoDigest) throw new FailureError(`${s.stack}/${s.service}: the previous image ${shortDigest(s.from.id)} is gone and has no registry digest to pull it by`, { hint: `pin the image in the compose file to the version you want` })
      const pull = await ctx.change('docker', ['pull', s.from.repoDigest], { nothrow: true })
      if (pull.exitCode !== 0) throw new FailureError(`cannot pull ${s.from.repoDigest}: ${pull.stderr.trim().split('\n').pop()}`)
    }
    await ctx.change('docker', ['tag', s.from.id, s.image])
    todo.push(s.service)
  }
  return todo.length ? await recreate(ctx, p, stack, todo, timeout) : []
}

/**
 * Applies pulled changes: records what ran before, then recreates only the changed services, stack by stack. When a
 * stack's services do not become healthy, those services are put back on their recorded images at once (the same
 * procedure as --rollback), the entry records it, and the apply stops there (later stacks untouched): FailureError.
 */
export async function applyChanges(ctx: StackCtx, p: Platform, changes: readonly ImageChange[], timeout: number): Promise<HistoryEntry | undefined> {
  const changed = changes.filter((c) => c.status === 'changed')
  if (!changed.length) return undefined
  const history = readHistory(ctx.root)
  const entry: HistoryEntry = {
    at: new Date().toISOString(),
    applied: false,
    rolledBack: false,
    services: changed.map((c) => ({ stack: c.stack, service: c.service, image: c.image, from: { id: c.running!.id, repoDigest: c.running!.repoDigest }, to: { id: c.pulled!.id, repoDigest: c.pulled!.repoDigest } })),
  }
  await writeHistory(ctx, [...history, entry])
  const recreated: string[] = []
  for (const stack of p.registry.stacks) {
    const services = changed.filter((c) => c.stack === stack.name).map((c) => c.service)
    if (!services.length) continue
    const failed = await recreate(ctx, p, stack, services, timeout)
    recreated.push(...services.map((s) => `${stack.name}/${s}`))
    if (failed.length) await rollBackFailed(ctx, p, stack, entry, failed, recreated, timeout, [...history, entry])
  }
  entry.applied = true
  await writeHistory(ctx, [...history, entry])
  return entry
}

/** An apply's own rollback of the services that did not become healthy; records it and throws (exit 1). */
async function rollBackFailed(ctx: StackCtx, p: Platform, stack: Stack, entry: HistoryEntry, failed: string[], recreated: string[], timeout: number, entries: HistoryEntry[]): Promise<never> {
  const names = failed.map((s) => `${stack.name}/${s}`).join(', ')
  const wanted = entry.services.filter((s) => s.stack === stack.name && failed.includes(s.service))
  ctx.log.warn(`${names}: returning to the image${wanted.length > 1 ? 's' : ''} that ran before (${wanted.map((s) => shortDigest(s.from.repoDigest ?? s.from.id)).join(', ')})`)
  const unhealthy = await restoreImages(ctx, p, stack, wanted, timeout)
  entry.autoRollback = { at: new Date().toISOString(), services: wanted.map((s) => `${s.stack}/${s.service}`), healthy: unhealthy.length === 0 }
  // nothing of this apply runs a new image any more when every service it recreated was put back
  entry.rolledBack = recreated.every((r) => entry.autoRollback!.services.includes(r))
  await writeHistory(ctx, entries)
  const others = recreated.filter((r) => !entry.autoRollback!.services.includes(r))
  const kept = others.length ? `; ${others.join(', ')} kept ${others.length > 1 ? 'their' : 'its'} new image (npx zx tasks/update.ts --rollback puts ${others.length > 1 ? 'them' : 'it'} back too)` : ''
  const notReached = entry.services.map((s) => `${s.stack}/${s.service}`).filter((r) => !recreated.includes(r))
  const stopped = notReached.length ? `; not recreated: ${notReached.join(', ')}` : ''
  const what = wanted.map((s) => `${s.stack}/${s.service} (${shortDigest(s.to.repoDigest ?? s.to.id)})`).join(', ')
  if (unhealthy.length)
    throw new FailureError(`${what} did not become healthy, was rolled back to the image that ran before, and is not healthy on it either: ${unhealthy.map((s) => `${stack.name}/${s}`).join(', ')}${stopped}`, {
      hint: `see the diagnosis above (npx zx tasks/logs.ts --stack ${stack.name}); if the new version changed the data, restore the backup taken before the update (npx zx tasks/restore.ts)`,
    })
  throw new FailureError(`${what} did not become healthy: rolled back automatically to the image that ran before, which is healthy again${kept}${stopped}`, {
    hint: `the automatic rollback is recorded in ${HISTORY_FILE}; pin the last good version in the compose file, or wait for a fixed image`,
  })
}

/** Brings back the images recorded before the last apply that was not rolled back. */
export async function rollback(ctx: StackCtx, p: Platform, stacks: readonly Stack[], timeout: number): Promise<HistoryEntry | undefined> {
  const history = readHistory(ctx.root)
  const index = history.findLastIndex((e) => !e.rolledBack)
  if (index === -1) return undefined
  const entry = history[index]
  const names = new Set(stacks.map((s) => s.name))
  const unhealthy: string[] = []
  for (const stack of stacks) {
    const wanted = entry.services.filter((s) => s.stack === stack.name)
    if (wanted.length) unhealthy.push(...(await restoreImages(ctx, p, stack, wanted, timeout)).map((s) => `${stack.name}/${s}`))
  }
  if (unhealthy.length) throw new FailureError(`${unhealthy.join(', ')} did not become healthy on the image that ran before`, { hint: 'see the diagnosis above; npx zx tasks/logs.ts shows more' })
  if (entry.services.every((s) => names.has(s.stack))) {
    history[index] = { ...entry, rolledBack: true }
    await writeHistory(ctx, history)
  }
  return entry
}

export function renderChanges(changes: readonly ImageChange[], dryRun: boolean): string {
  if (!changes.length) return 'no images'
  const rows = [['service', 'image', 'running', '', 'pulled', 'status']]
  for (const c of changes)
    rows.push([`${c.stack}/${c.service}`, c.image, shortDigest(c.running?.repoDigest ?? c.running?.id), c.status === 'changed' ? '→' : '', shortDigest(c.pulled?.repoDigest ?? c.pulled?.id), dryRun ? `${c.status} (not pulled: --dry-run)` : c.status])
  const n = changes.filter((c) => c.status === 'changed').length
  return table(rows) + `\n${plural(n, 'service')} with a newer image`
}

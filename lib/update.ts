// Image updates: pull newer images without restarting anything, report per service what changed (running image →
// pulled image), and with --apply recreate only the services whose image changed, waiting for health. The images
// running before an apply are recorded in .stackyard/image-history.json; rollback re-tags the recorded image under
// the service's reference (pulling it by digest if it was pruned) and recreates those services. Changes go through
// the context (dry-run aware).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { FailureError } from './errors.ts'
import type { Stack } from './registry.ts'
import { upCommand } from './compose.ts'
import { parseConfigImages, parseContainerInspect, parseImageInspect, shortDigest, type ImageInfo } from './docker-state.ts'
import { diagnoseStack, renderDiagnosis } from './diagnose.ts'
import { duration, plural, table } from './format.ts'
import { STATE_DIR } from './paths.ts'
import type { Platform, StackCtx } from './platform.ts'
import { stackRows } from './status.ts'

export const HISTORY_FILE = `${STATE_DIR}/image-history.json`

const Image = z.object({ id: z.string(), repoDigest: z.string().optional() })
const Entry = z.object({
  at: z.string(),
  applied: z.boolean(),
  rolledBack: z.boolean(),
  services: z.array(z.object({ stack: z.string(), service: z.string(), image: z.string(), from: Image, to: Image })),
})
const History = z.object({ entries: z.array(Entry) })
export type HistoryEntry = z.infer<typeof Entry>

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

/** service → image id of its running container */
async function runningImages(ctx: Pick<StackCtx, 'exec'>, p: Platform, stack: Stack): Promise<Map<string, string>> {
  const rows = (await stackRows(ctx, p, stack)).filter((r) => r.State === 'running')
  const out = new Map<string, string>()
  for (const row of rows) {
    const r = await ctx.exec('docker', ['inspect', row.Name], { nothrow: true })
    const c = r.exitCode === 0 ? parseContainerInspect(r.stdout) : undefined
    if (c?.Image) out.set(row.Service, c.Image)
  }
  return out
}

/** Pulls the images of one stack's enabled services and compares them with what runs. */
export async function pullStack(ctx: Pick<StackCtx, 'exec' | 'change' | 'dryRun'>, p: Platform, stack: Stack): Promise<ImageChange[]> {
  const config = await p.run(ctx.exec, stack, ['config', '--format', 'json'])
  if (config.exitCode !== 0) throw new FailureError(`docker compose config failed for ${stack.name}:\n${config.stderr.trim().split('\n').slice(-4).join('\n')}`, { hint: 'npx zx tasks/doctor.ts checks the configuration' })
  const images = parseConfigImages(config.stdout)
  const running = await runningImages(ctx, p, stack)
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
  const r = History.safeParse(JSON.parse(readFileSync(abs, 'utf8')))
  if (!r.success) throw new FailureError(`${HISTORY_FILE} is not in the expected shape`, { hint: `move it aside; it only matters for --rollback` })
  return r.data.entries
}

async function writeHistory(ctx: Pick<StackCtx, 'writeFile'>, entries: HistoryEntry[]): Promise<void> {
  await ctx.writeFile(HISTORY_FILE, JSON.stringify({ entries: entries.slice(-20) }, null, 2) + '\n', { mode: 0o644 })
}

/** Recreates the given services of one stack (`up --no-deps --force-recreate`, waited for health). */
async function recreate(ctx: Pick<StackCtx, 'exec' | 'change' | 'log' | 'dryRun'>, p: Platform, stack: Stack, services: string[], timeout: number): Promise<void> {
  const started = Date.now()
  ctx.log.step(`${stack.name}: recreating ${services.join(', ')}`)
  const r = await p.run(ctx.change, stack, upCommand({ timeout, services, forceRecreate: true }))
  if (r.exitCode !== 0) {
    const d = await diagnoseStack(ctx, p, stack, r.stderr || r.stdout, { services })
    ctx.log.error(`${stack.name}: recreating failed\n${renderDiagnosis(d)}`)
    throw new FailureError(`${stack.name}: ${services.join(', ')} did not become healthy`, { hint: 'npx zx tasks/update.ts --rollback brings back the images that ran before' })
  }
  if (!ctx.dryRun) ctx.log.success(`${stack.name}: ${services.join(', ')} recreated and healthy (${duration(Date.now() - started)})`)
}

/** Applies pulled changes: records what ran before, then recreates only the changed services per stack. */
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
  for (const stack of p.registry.stacks) {
    const services = changed.filter((c) => c.stack === stack.name).map((c) => c.service)
    if (services.length) await recreate(ctx, p, stack, services, timeout)
  }
  entry.applied = true
  await writeHistory(ctx, [...history, entry])
  return entry
}

/** Brings back the images recorded before the last apply that was not rolled back. */
export async function rollback(ctx: StackCtx, p: Platform, stacks: readonly Stack[], timeout: number): Promise<HistoryEntry | undefined> {
  const history = readHistory(ctx.root)
  const index = history.findLastIndex((e) => !e.rolledBack)
  if (index === -1) return undefined
  const entry = history[index]
  const names = new Set(stacks.map((s) => s.name))
  const todo = new Map<string, string[]>()
  for (const stack of stacks) {
    const wanted = entry.services.filter((s) => s.stack === stack.name)
    if (!wanted.length) continue
    const running = await runningImages(ctx, p, stack)
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
      todo.set(stack.name, [...(todo.get(stack.name) ?? []), s.service])
    }
  }
  for (const stack of stacks) if (todo.has(stack.name)) await recreate(ctx, p, stack, todo.get(stack.name)!, timeout)
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

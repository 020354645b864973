// update --apply under swarm: a rolling `docker service update --image` per changed service, pinned to the pulled
// image (its registry digest, else its id), with Swarm's own automatic rollback when the new task fails its health
// check (the derived update_config: failure_action rollback). Swarm rolls back to the service's previous spec, which
// names the image by its tag, and the pull moved that tag: so the tag is first put back on the image that runs (as
// it was before the pull) and moved to the new image only once the update completed. The images before are recorded
// in the same history as compose's. Changes through the context (dry-run aware).
import { FailureError } from '../core/errors.ts'
import { duration } from '../core/format.ts'
import type { Runner } from '../core/exec.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { shortDigest } from '../docker/state.ts'
import { stackServices, waitConverged } from '../swarm/state.ts'
import { readHistory, writeHistory, HISTORY_FILE, type HistoryEntry, type ImageChange } from './update.ts'

interface UpdateStatus {
  State?: string
  StartedAt?: string
  CompletedAt?: string
  Message?: string
}

/** Docker's timestamps carry nanoseconds: milliseconds since the epoch */
const time = (t: string | undefined) => (t ? Date.parse(t.replace(/(\.\d{3})\d+/, '$1')) : NaN)

/**
 * Waits until the update of `name` started at or after `since` ends: 'completed', or how it ended otherwise
 * (rollback_completed, paused, rollback_paused). FailureError after `timeoutS`.
 */
export async function waitUpdate(exec: Runner, name: string, since: number, o: { timeoutS: number; pollMs?: number }): Promise<UpdateStatus> {
  const deadline = Date.now() + o.timeoutS * 1000
  for (;;) {
    const r = await exec('docker', ['service', 'inspect', '--format', '{{json .UpdateStatus}}', name])
    const s = (JSON.parse(r.stdout.trim() || 'null') ?? {}) as UpdateStatus
    // a status from an earlier update says nothing about this one (1 s of slack: the manager's clock is this machine's)
    const ours = time(s.StartedAt) >= since - 1000
    if (ours && s.State && ['completed', 'rollback_completed', 'paused', 'rollback_paused'].includes(s.State)) return s
    if (Date.now() > deadline) throw new FailureError(`${name}: the update did not end within ${o.timeoutS}s (${s.State ?? 'not started'}${s.Message ? `: ${s.Message}` : ''})`, { hint: `docker service ps --no-trunc ${name}; docker service rollback ${name} goes back` })
    await new Promise((res) => setTimeout(res, o.pollMs ?? 2000))
  }
}

/**
 * Applies pulled changes under swarm, service by service in stack order; the first that Swarm rolls back stops the
 * apply (later services untouched): recorded in the history as an automatic rollback, FailureError (exit 1) naming
 * it and saying it runs its old image again.
 */
export async function applySwarm(ctx: StackCtx, p: Platform, changes: readonly ImageChange[], timeout: number): Promise<HistoryEntry | undefined> {
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
  const order = p.registry.stacks.map((s) => s.name)
  const updated: string[] = []
  for (const c of [...changed].sort((a, b) => order.indexOf(a.stack) - order.indexOf(b.stack))) {
    const stack = p.registry.stack(c.stack)
    const name = `${stack.project}_${c.service}`
    const where = `${c.stack}/${c.service}`
    const ref = c.pulled!.repoDigest ?? c.pulled!.id
    const t0 = Date.now()
    // the service's spec names the tag: it must mean the running image while Swarm may roll back to that spec
    await ctx.change('docker', ['tag', c.running!.id, c.image])
    ctx.log.step(`${where}: rolling update to ${shortDigest(ref)} (Swarm rolls it back if its health check fails)`)
    const since = Date.now()
    const r = await ctx.change('docker', ['service', 'update', '--detach', '--no-resolve-image', '--image', ref, name], { nothrow: true })
    if (r.exitCode !== 0) {
      await ctx.change('docker', ['tag', c.pulled!.id, c.image])
      throw new FailureError(`${where}: docker service update failed: ${r.stderr.trim().split('\n').pop() ?? ''}`, { hint: 'nothing was changed for this service' })
    }
    if (ctx.dryRun) continue
    const status = await waitUpdate(ctx.exec, name, since, { timeoutS: timeout })
    if (status.State === 'completed') {
      const spec = (await stackServices(ctx.exec, stack.project)).find((s) => s.service === c.service)?.spec
      await waitConverged(ctx.exec, stack.project, { [c.service]: spec as string }, { timeoutS: timeout })
      await ctx.change('docker', ['tag', c.pulled!.id, c.image])
      updated.push(where)
      ctx.log.success(`${where}: updated, healthy (${duration(Date.now() - t0)})`)
      continue
    }
    // rolled back (or paused): Swarm put the previous spec back; wait until that runs healthy again
    const back = status.State === 'rollback_completed'
    let healthy = false
    if (back) healthy = await waitConverged(ctx.exec, stack.project, { [c.service]: (await stackServices(ctx.exec, stack.project)).find((s) => s.service === c.service)?.spec as string }, { timeoutS: timeout }).then(() => true, () => false)
    entry.autoRollback = { at: new Date().toISOString(), services: [where], healthy }
    entry.rolledBack = updated.length === 0
    await writeHistory(ctx, [...history, entry])
    const notReached = changed.map((x) => `${x.stack}/${x.service}`).filter((x) => x !== where && !updated.includes(x))
    const rest = `${updated.length ? `; ${updated.join(', ')} kept the new image` : ''}${notReached.length ? `; not updated: ${notReached.join(', ')}` : ''}`
    const old = shortDigest(c.running!.repoDigest ?? c.running!.id)
    if (!back)
      throw new FailureError(`${where} (${shortDigest(ref)}): the update stopped (${status.State}${status.Message ? `: ${status.Message}` : ''})${rest}`, { hint: `docker service ps --no-trunc ${name}; docker service rollback ${name} goes back to ${old}` })
    throw new FailureError(`${where} (${shortDigest(ref)}) did not become healthy: Swarm rolled it back by itself to the image that ran before (${old}), which ${healthy ? 'is healthy again' : 'is not healthy either'}${rest}`, {
      hint: `the automatic rollback is recorded in ${HISTORY_FILE}; ${status.Message ? `Swarm: ${status.Message}; ` : ''}docker service ps --no-trunc ${name} shows the failed task`,
    })
  }
  entry.applied = true
  await writeHistory(ctx, [...history, entry])
  return entry
}

// A stack's named volumes under swarm: `docker stack deploy` creates them on the node that runs the task, named as
// the stack file says (the compose model's `name:`, else <project>_<key>) and labelled with the stack, not with the
// compose labels the compose engine's volumes carry. Found by name; created the same way when missing. Read-only
// apart from createVolume (through the context's change runner).
import { FailureError } from '../core/errors.ts'
import type { Runner } from '../core/exec.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import type { Stack } from '../model/registry.ts'

/** volume key → the name Swarm gives it, from Compose's resolved model of the stack */
export async function volumeNames(ctx: Pick<StackCtx, 'exec'>, p: Platform, stack: Stack): Promise<Record<string, string>> {
  const r = await p.run(ctx.exec, stack, ['config', '--format', 'json'])
  if (r.exitCode !== 0) throw new FailureError(`docker compose config failed for ${stack.name}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, { hint: 'npx zx tasks/doctor.ts checks the configuration Compose reads' })
  const model = JSON.parse(r.stdout) as { volumes?: Record<string, { name?: string; external?: boolean } | null> }
  return Object.fromEntries(Object.entries(model.volumes ?? {}).map(([key, v]) => [key, v?.name ?? `${stack.project}_${key}`]))
}

/** whether a volume of that name exists on this engine */
export async function volumeExists(exec: Runner, name: string): Promise<boolean> {
  return (await exec('docker', ['volume', 'inspect', name], { nothrow: true })).exitCode === 0
}

/** creates a stack's volume as `docker stack deploy` would (local driver, the stack's label) */
export async function createVolume(ctx: Pick<StackCtx, 'change'>, project: string, name: string): Promise<void> {
  await ctx.change('docker', ['volume', 'create', '--label', `com.docker.stack.namespace=${project}`, name])
}

// Where backup and restore reach a stack's stateful services, whichever engine runs them. Compose: `docker compose`
// (ps, exec -T, up; volumes by their compose labels). Swarm: the running task's container (lib/swarm/tasks.ts
// runningTask; on several nodes this engine must be the node that runs the task, else a clear error), `docker service
// scale`, and the volumes by the names the stack file gives them. Reads through ctx.exec, changes through ctx.change.
import { FailureError } from '../core/errors.ts'
import type { ExecOptions, ExecResult, Runner } from '../core/exec.ts'
import { execCommand, upCommand } from '../docker/compose.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { findVolumes } from '../infisical/reset.ts'
import type { Stack } from '../model/registry.ts'
import { namedVolumeKeys } from '../model/volumes.ts'
import type { Engine } from '../model/x-fields.ts'
import { stackRows } from '../stacks/status.ts'
import { scaleServices, stackServices, waitConverged } from '../swarm/state.ts'
import { runningTask, taskExec } from '../swarm/tasks.ts'
import { createVolume, volumeExists, volumeNames } from '../swarm/volumes.ts'

export interface ServiceReach {
  engine: Engine
  /** 'running', or what the service is instead ('exited', 'not created', 'not deployed', 'no running task'…) */
  state(stack: Stack, service: string): Promise<string>
  /** the image reference its running container was started from */
  image(stack: Stack, service: string): Promise<string | undefined>
  /** runs `cmd` in the service's running container (stdin passed through), nothrow */
  exec(runner: Runner, stack: Stack, service: string, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult>
  /** the names of a stack's volume (none: not created yet) */
  volumes(stack: Stack, key: string): Promise<string[]>
  /** restore: starts the service alone and waits until it is healthy (FailureError otherwise) */
  startAlone(stack: Stack, service: string, timeout: number): Promise<void>
  /** restore: makes sure its volumes exist while the service stays stopped */
  createStopped(stack: Stack, service: string): Promise<void>
}

/** A compose target: the running platform's projects, or a restore drill's throwaway ones. */
export interface ComposeTarget {
  /** runs a stack's compose subcommand (as Platform.run) */
  run: Platform['run']
  /** the compose project a stack's volumes belong to */
  project(stack: Stack): string
}

const must = (r: { exitCode: number; stderr: string }, what: string) => {
  if (r.exitCode !== 0) throw new FailureError(`${what} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-4).join(' ') || 'no error output'}`, { hint: 'the restore stopped here: services restored before this one have their backed-up data; run the restore again once the cause is fixed' })
}

export function composeReach(ctx: Pick<StackCtx, 'exec' | 'change'>, target: ComposeTarget, p?: Platform): ServiceReach {
  const rows = new Map<string, ReturnType<typeof stackRows>>()
  const row = async (stack: Stack, service: string) => {
    if (!p) return undefined
    if (!rows.has(stack.name)) rows.set(stack.name, stackRows(ctx, p, stack))
    return (await rows.get(stack.name)!).find((r) => r.Service === service)
  }
  return {
    engine: 'compose',
    state: async (stack, service) => (await row(stack, service))?.State || 'not created',
    image: async (stack, service) => (await row(stack, service))?.Image || undefined,
    exec: (runner, stack, service, cmd, opts) => target.run(runner, stack, execCommand(service, cmd), opts),
    volumes: (stack, key) => findVolumes(ctx.exec, target.project(stack), key),
    startAlone: async (stack, service, timeout) => must(await target.run(ctx.change, stack, upCommand({ timeout, services: [service] })), `${stack.name}/${service}: start`),
    // Compose creates its container and volumes if missing
    createStopped: async (stack, service) => must(await target.run(ctx.change, stack, ['up', '--no-start', '--no-deps', service]), `${stack.name}/${service}: create`),
  }
}

/**
 * Under swarm: commands run in the running task's container on this node; a service is started alone by scaling it
 * back to one replica (restore scales the affected stacks to 0 first); volumes are found by their stack-file names.
 */
export function swarmReach(ctx: Pick<StackCtx, 'exec' | 'change' | 'dryRun'>, p: Platform): ServiceReach {
  const names = new Map<string, Promise<Record<string, string>>>()
  const volumeName = async (stack: Stack, key: string) => {
    if (!names.has(stack.name)) names.set(stack.name, volumeNames(ctx, p, stack))
    return (await names.get(stack.name)!)[key] ?? `${stack.project}_${key}`
  }
  const task = (stack: Stack, service: string) => runningTask(ctx.exec, stack.project, service)
  return {
    engine: 'swarm',
    state: async (stack, service) => {
      if (await task(stack, service)) return 'running'
      return (await stackServices(ctx.exec, stack.project)).some((s) => s.service === service) ? 'no running task' : 'not deployed'
    },
    image: async (stack, service) => (await task(stack, service))?.image || undefined,
    exec: async (runner, stack, service, cmd, opts) => {
      const t = await task(stack, service)
      // a dry run shows the command even when the service is scaled down for it (restore)
      if (!t && ctx.dryRun) return runner('docker', taskExec({ container: `<running task of ${stack.project}_${service}>` }, cmd), { nothrow: true, ...opts })
      if (!t) throw new FailureError(`${stack.project}_${service} has no running task`, { hint: `docker service ps ${stack.project}_${service}` })
      return runner('docker', taskExec(t, cmd), { nothrow: true, ...opts })
    },
    volumes: async (stack, key) => {
      const name = await volumeName(stack, key)
      return (await volumeExists(ctx.exec, name)) ? [name] : []
    },
    startAlone: async (stack, service, timeout) => {
      const s = (await stackServices(ctx.exec, stack.project)).find((x) => x.service === service)
      if (!s && ctx.dryRun) return void (await ctx.change('docker', ['service', 'scale', '--detach', `${stack.project}_${service}=1`]))
      if (!s) throw new FailureError(`${stack.project}_${service} is not deployed`, { hint: `npx zx tasks/up.ts --stack ${stack.name}` })
      await scaleServices(ctx, stack.project, [s], 1)
      if (!ctx.dryRun) await waitConverged(ctx.exec, stack.project, { [service]: s.spec as string } /* undefined: any spec */, { timeoutS: timeout })
    },
    createStopped: async (stack, service) => {
      const raw = stack.services.find((s) => s.name === service)?.raw
      for (const key of namedVolumeKeys(raw?.volumes)) {
        const name = await volumeName(stack, key)
        if (!(await volumeExists(ctx.exec, name))) await createVolume(ctx, stack.project, name)
      }
    },
  }
}

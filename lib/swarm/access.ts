// How health and doctor --live reach services under swarm: the status rows of swarm services, the services with a
// running task, and a command in a running task's container (`docker exec`, on this engine's node only; a task placed
// on another node is said, not reached).
import type { Platform, StackCtx } from '../docker/platform.ts'
import type { ServiceAccess } from '../stacks/access.ts'
import { swarmStatus } from './status.ts'
import { localNode, runningTasks, type RunningTask } from './tasks.ts'

export function swarmAccess(ctx: Pick<StackCtx, 'exec'>, p: Platform): ServiceAccess {
  const asked = new Map<string, Promise<RunningTask[]>>()
  const tasks = (project: string) => {
    if (!asked.has(project)) asked.set(project, runningTasks(ctx.exec, project))
    return asked.get(project)!
  }
  let node: Promise<string> | undefined
  return {
    status: (stacks) => swarmStatus(ctx, p, stacks),
    running: async (stack) => new Set((await tasks(p.registry.stack(stack).project)).filter((t) => t.state === 'running').map((t) => t.service)),
    async exec(stack, service, command, o = {}) {
      const name = `${stack.project}_${service}`
      const t = (await tasks(stack.project)).find((x) => x.service === service && x.state === 'running' && x.container)
      if (!t) return { exitCode: 1, stdout: '', stderr: `${name} has no running task` }
      if (t.node !== (await (node ??= localNode(ctx.exec)))) return { exitCode: 1, stdout: '', stderr: `${name} runs on another node (${t.node}): docker exec reaches only this engine's containers` }
      return ctx.exec('docker', ['exec', ...(o.stdin ? ['--interactive'] : []), t.container, ...command], { nothrow: true, timeoutMs: o.timeoutMs, stdin: o.stdin })
    },
  }
}

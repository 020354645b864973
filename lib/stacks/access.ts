// How the read-only stack verbs (health, doctor --live) reach running services, whatever the engine: the status rows,
// which services of a stack run, and a command inside one's container. Compose: `compose ps` and `compose exec -T`;
// the swarm engine brings its own (lib/swarm/access.ts: the running task's container).
import type { Readable } from 'node:stream'
import type { ExecResult } from '../core/exec.ts'
import type { Stack } from '../model/registry.ts'
import type { Platform, StackCtx } from '../docker/platform.ts'
import { execCommand } from '../docker/compose.ts'
import { collectStatus, stackRows, type ServiceStatus } from './status.ts'

export interface ServiceAccess {
  /** the rows `status` prints (state "running", or "running 1/1" under swarm) */
  status(stacks: readonly Stack[]): Promise<ServiceStatus[]>
  /** the services of a stack with a running container (asked once per stack) */
  running(stack: string): Promise<Set<string>>
  /** a command in the service's running container (no TTY; `stdin` fed to it); never throws on a non-zero exit */
  exec(stack: Stack, service: string, command: readonly string[], o?: { timeoutMs?: number; stdin?: Readable }): Promise<ExecResult>
}

/** Which services of each stack run (one `compose ps` per stack, asked once). */
export function runningServices(ctx: Pick<StackCtx, 'exec'>, p: Platform): (stack: string) => Promise<Set<string>> {
  const asked = new Map<string, Promise<Set<string>>>()
  return (name) => {
    let s = asked.get(name)
    if (!s) {
      s = stackRows(ctx, p, p.registry.stack(name)).then((rows) => new Set(rows.filter((r) => r.State === 'running').map((r) => r.Service)))
      asked.set(name, s)
    }
    return s
  }
}

export function composeAccess(ctx: Pick<StackCtx, 'exec'>, p: Platform): ServiceAccess {
  return {
    status: (stacks) => collectStatus(ctx, p, stacks),
    running: runningServices(ctx, p),
    exec: (stack, service, command, o) => p.run(ctx.exec, stack, execCommand(service, command), o),
  }
}

// Logs under the swarm engine: `docker service logs` of each named (or each deployed) service of a stack, through the
// same filter as compose's (masking, terminal codes); with --follow the services stream side by side. Read-only.
import { FailureError, UsageError } from '../core/errors.ts'
import type { Stack } from '../model/registry.ts'
import type { StackCtx } from '../docker/platform.ts'
import { requireManager, stackServices } from './state.ts'

export interface LogsOptions {
  services: readonly string[]
  follow?: boolean
  since?: string
  tail?: number
  /** what each chunk of output goes through before it is printed */
  filter: (text: string) => string
}

/** `docker service logs` arguments for one service (each line keeps its task prefix: <service>.<slot>.<task>@<node> |) */
export function serviceLogsCommand(name: string, o: Pick<LogsOptions, 'follow' | 'since' | 'tail'>): string[] {
  return ['service', 'logs', ...(o.follow ? ['--follow'] : []), ...(o.since ? ['--since', o.since] : []), ...(o.tail !== undefined ? ['--tail', String(o.tail)] : []), name]
}

/** Prints the logs; returns the exit code (the first non-zero one). */
export async function swarmLogs(ctx: Pick<StackCtx, 'exec'>, stack: Stack, o: LogsOptions): Promise<number> {
  await requireManager(ctx.exec)
  const deployed = (await stackServices(ctx.exec, stack.project)).map((s) => s.service)
  if (!deployed.length) throw new FailureError(`${stack.name} is not deployed on this swarm (no service of stack ${stack.project})`, { hint: `npx zx tasks/up.ts --stack ${stack.name}` })
  const missing = o.services.filter((s) => !deployed.includes(s))
  if (missing.length) throw new UsageError(`${missing.join(', ')}: not deployed in stack ${stack.project}`, { hint: `deployed: ${deployed.join(', ')}` })
  const services = o.services.length ? o.services : stack.services.map((s) => s.name).filter((s) => deployed.includes(s))
  const one = (service: string) => ctx.exec('docker', serviceLogsCommand(`${stack.project}_${service}`, o), { passthrough: o.filter, nothrow: true })
  // following: every service at once (each stream runs until interrupted); else one after another, in stack order
  const codes = o.follow ? (await Promise.all(services.map(one))).map((r) => r.exitCode) : []
  if (!o.follow) for (const s of services) codes.push((await one(s)).exitCode)
  return codes.find((c) => c !== 0) ?? 0
}

// Why a stack did not come up: which services are not running or not healthy, what their health check said
// (`docker inspect` State.Health.Log) and their last log lines. Read-only commands through the context's runner.
import type { Stack } from '../model/registry.ts'
import { logsCommand, psCommand } from './compose.ts'
import { healthOutput, isServing, parseContainerInspect, parsePs } from './state.ts'
import type { Platform, StackCtx } from './platform.ts'

export interface ServiceDiagnosis {
  service: string
  state: string
  health: string
  /** the last health-check outputs */
  healthLog: string[]
  /** the last log lines */
  logs: string[]
}

export interface StackDiagnosis {
  stack: string
  /** the tail of Compose's own error output */
  composeError: string
  services: ServiceDiagnosis[]
}

export async function diagnoseStack(ctx: Pick<StackCtx, 'exec'>, p: Platform, stack: Stack, composeStderr: string, opts: { services?: readonly string[]; logLines?: number } = {}): Promise<StackDiagnosis> {
  const plan = p.plan(stack)
  const wanted = opts.services ?? plan.enabled.map((s) => s.name)
  const ps = await p.run(ctx.exec, stack, psCommand())
  const rows = ps.exitCode === 0 ? safe(() => parsePs(ps.stdout), []) : []
  const bad: ServiceDiagnosis[] = []
  for (const name of wanted) {
    const row = rows.find((r) => r.Service === name)
    if (isServing(row)) continue
    const d: ServiceDiagnosis = { service: name, state: row?.State || 'not created', health: row?.Health ?? '', healthLog: [], logs: [] }
    if (row) {
      const inspect = await ctx.exec('docker', ['inspect', row.Name], { nothrow: true })
      const c = inspect.exitCode === 0 ? parseContainerInspect(inspect.stdout) : undefined
      if (c) d.healthLog = healthOutput(c)
      const logs = await p.run(ctx.exec, stack, logsCommand({ services: [name], tail: opts.logLines ?? 20 }))
      d.logs = (logs.stdout + logs.stderr).trimEnd().split('\n').filter(Boolean).slice(-(opts.logLines ?? 20))
    }
    bad.push(d)
  }
  const composeError = composeStderr.trim().split('\n').filter((l) => !/^\s*(Container|Network|Volume) .*(Running|Started|Healthy|Created|Waiting|Recreated|Creating|Starting)\s*$/.test(l)).slice(-6).join('\n')
  return { stack: stack.name, composeError, services: bad }
}

/** The diagnosis as indented lines, for the log. */
export function renderDiagnosis(d: StackDiagnosis): string {
  const out: string[] = []
  if (d.composeError) out.push(...d.composeError.split('\n').map((l) => `  ${l}`))
  for (const s of d.services) {
    out.push(`  ${s.service}: ${s.state}${s.health ? `, ${s.health}` : ''}`)
    if (s.healthLog.length) out.push('    health check:', ...s.healthLog.map((l) => `      ${l}`))
    if (s.logs.length) out.push('    last log lines:', ...s.logs.map((l) => `      ${l}`))
  }
  return out.join('\n')
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch {
    return fallback
  }
}

// Setup step 7, review: everything that will be written or done, secrets masked (lib/core/redact.ts mask), the plans read
// from Cloudflare, the warnings; then one confirmation in a terminal. A refusal (or Ctrl-C) leaves every file as it
// was (exit 130). Reads only.
import { CancelledError } from '../../core/errors.ts'
import { color } from '../../core/log.ts'
import { table } from '../../core/format.ts'
import { loadPlatform } from '../../docker/platform.ts'
import { proxyState } from '../../caddy/proxy.ts'
import { mask } from '../../core/redact.ts'
import type { SetupContext } from '../context.ts'
import { plannedActions, skipReason } from '../start.ts'
import { renderSummary } from '../summary.ts'
import { portWarnings } from './preflight.ts'

const show = (v: string | undefined) => (v === undefined ? '(unset)' : v === '' ? '(empty)' : v)

/** The .env part of the review: one line per change, secrets as •••• with their length only. */
export function renderEnvChanges(ctx: Pick<SetupContext, 'changes' | 'registry' | 'planned'>): string {
  const rows = [...ctx.changes.values()].map((c) => {
    if (c.value === null) return [color.red('-'), c.key, color.dim(c.note ?? 'removed')]
    const value = c.secret ? mask(c.value) : show(c.value)
    if (c.before === undefined) return [color.green('+'), c.key, value, color.dim(c.note ?? '')]
    return [color.yellow('~'), c.key, c.secret ? value : `${show(c.before)} → ${value}`, color.dim(c.note ?? '')]
  })
  const planned = ctx.planned()
  const kept = [...ctx.registry.secrets.keys()].filter((k) => planned[k] && !ctx.changes.has(k)).length
  const lines = rows.length ? [table(rows, { indent: '  ' })] : ['  nothing to change']
  if (kept) lines.push(color.dim(`  ${kept} declared secret${kept === 1 ? '' : 's'} kept as ${kept === 1 ? 'it is' : 'they are'}`))
  return lines.join('\n')
}

export function renderReview(ctx: SetupContext, previews: string[]): string {
  const out = [color.bold('Review (nothing has been written yet)'), renderSummary(ctx.answers, ctx.registry.stacks.map((s) => s.name)), '']
  out.push(color.bold(`.env (mode 0600${ctx.changes.size && Object.keys(ctx.files.dotEnv).length ? '; the previous file is kept as .env.bak' : ''})`), renderEnvChanges(ctx), '')
  const actions = plannedActions(ctx)
  if (actions.length) {
    out.push(color.bold('Then'))
    actions.forEach((a, i) => {
      const why = skipReason(a, ctx)
      out.push(`  ${i + 1}. ${a.title}${why ? color.yellow(` — not now (${why})`) : ''}`)
    })
    out.push('')
  }
  for (const p of previews) out.push(p, '')
  if (ctx.warnings.length) out.push(color.bold('Warnings'), ...ctx.warnings.map((w) => `  ${color.yellow('▲')} ${w}`), '')
  return out.join('\n').trimEnd()
}

/** Host ports our own running proxy publishes (a re-run), so they do not count as taken. */
async function ourPorts(ctx: Pick<SetupContext, 'fresh'>): Promise<Set<number>> {
  try {
    const t = ctx.fresh()
    return (await proxyState(t, loadPlatform(t, { profiles: 'active', generating: false }))).published
  } catch {
    return new Set()
  }
}

export async function review(ctx: SetupContext): Promise<void> {
  if (ctx.facts.docker && ctx.answers.environment === 'private') ctx.warnings.push(...(await portWarnings(ctx, await ourPorts(ctx))))
  const previews = (await Promise.all(ctx.previews.map((p) => p()))).filter((p): p is string => Boolean(p))
  ctx.out(renderReview(ctx, previews))
  if (ctx.dryRun || !ctx.interactive || ctx.yes) return
  const ok = await ctx.ask.confirm({ message: ctx.changes.size ? 'Write this and carry it out?' : 'Carry this out?', initialValue: true })
  if (!ok) throw new CancelledError('nothing was written', { hint: 'run npx zx tasks/setup.ts again whenever you are ready' })
}

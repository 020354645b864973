// Setup step 8, apply: .env in one atomic write (every key at once, mode 0600, the previous file as .env.bak), then
// the queued actions in order (Cloudflare, Infisical, up), each on a task context that re-reads the files; then the
// reachable URLs and the next steps. An action that fails says how to resume: running setup again continues.
import { resolve } from 'node:path'
import { StackyardError } from '../../core/errors.ts'
import { editEnvFile } from '../../env/file.ts'
import { existsSync, readdirSync } from 'node:fs'
import type { FlagDecls } from '../../core/flags.ts'
import type { TaskContext } from '../../task/task.ts'
import { renderUpReport } from '../../stacks/up.ts'
import type { ApplyContext, SetupContext } from '../context.ts'
import { plannedActions, skipReason } from '../start.ts'

const HEADER = `This installation's settings and secrets (written by npx zx tasks/setup.ts; edit freely, keep it private).
Mode 0600; never commit it. Layering: .env.global < .env < .env.infisical < your shell.`
const RESUME = 'then run npx zx tasks/setup.ts again: it keeps the configuration it wrote and carries on from there'

export async function apply(ctx: SetupContext): Promise<number> {
  const changes = Object.fromEntries([...ctx.changes.values()].map((c) => [c.key, c.value]))
  const actions = plannedActions(ctx)
  if (ctx.dryRun) {
    if (ctx.changes.size) ctx.skipped(`write .env (mode 0600): ${[...ctx.changes.values()].map((c) => `${c.value === null ? '-' : c.before === undefined ? '+' : '~'}${c.key}`).join(' ')}`)
    for (const a of actions) if (!skipReason(a, ctx)) ctx.skipped(a.title)
    ctx.log.info('dry run: nothing was written, nothing was started')
    return 0
  }
  // the backup keeps .env as it was before this run: only the first write of the run makes one
  let backedUp = false
  const write = async (edit: Record<string, string | null>) => {
    const r = await editEnvFile(resolve(ctx.root, '.env'), edit, { mode: 0o600, backup: !backedUp, header: HEADER })
    backedUp ||= r.wrote
    return r
  }
  if (ctx.changes.size) {
    const existed = existsSync(resolve(ctx.root, '.env'))
    const r = await write(changes)
    ctx.log.success(`.env written (mode 0600): ${r.added.length} added, ${r.changed.length} changed, ${r.removed.length} removed${existed ? '; the previous file is .env.bak' : ''}`)
  } else ctx.log.success('.env already holds this configuration')

  const a: ApplyContext = {
    task: () => {
      const t: TaskContext<FlagDecls> = ctx.fresh()
      t.editEnv = (path, edit) => write(edit)
      return t
    },
    log: ctx.log,
    ask: ctx.ask,
    interactive: ctx.interactive,
    next: [],
    problems: [],
  }
  const later: string[] = []
  for (const action of actions) {
    const why = skipReason(action, ctx)
    if (why) {
      later.push(...action.resume.filter((c) => !later.includes(c)))
      continue
    }
    ctx.log.step(action.title)
    try {
      await action.run(a)
    } catch (err) {
      if (err instanceof StackyardError) err.hint = err.hint ? `${err.hint}; ${RESUME}` : `fix the cause, ${RESUME}`
      throw err
    }
  }
  if (a.report) ctx.out(renderUpReport(a.report))
  closing(ctx, a, later)
  if (a.problems.length) {
    for (const p of a.problems) ctx.log.warn(p)
    return 1
  }
  return 0
}

function closing(ctx: SetupContext, a: ApplyContext, later: string[]): void {
  const next: string[] = []
  if (ctx.facts.dockerProblem) {
    next.push(`Docker: ${ctx.facts.dockerProblem.message}${ctx.facts.dockerProblem.hint ? `; ${ctx.facts.dockerProblem.hint}` : ''}`)
    next.push('then start everything: npx zx tasks/setup.ts (the configuration is written; it asks nothing new)')
  } else if (!ctx.start && later.length) next.push('start it: npx zx tasks/setup.ts (or only the stacks: npx zx tasks/up.ts)')
  for (const f of ctx.next) {
    const line = f()
    if (line) next.push(line)
  }
  next.push(...a.next)
  const stackTasks = (ctx.answers.stacks ?? []).flatMap((name) => {
    const folder = ctx.registry.stack(name).folder
    try {
      return readdirSync(resolve(ctx.root, 'tasks', folder)).filter((f) => f.endsWith('.ts')).map((f) => `npx zx tasks/${folder}/${f}`)
    } catch {
      return []
    }
  })
  if (stackTasks.length) next.push(`stack tasks (each takes --help): ${stackTasks.join(', ')}`)
  next.push('check it: npx zx tasks/status.ts (state and health), npx zx tasks/doctor.ts (the configuration)')
  next.push('change a setting: npx zx tasks/setup.ts (it shows the current settings and keeps what you do not change)')
  ctx.log.step('next')
  for (const line of next) ctx.log.info(`• ${line}`)
}

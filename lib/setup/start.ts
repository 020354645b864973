// Starting stacks from the setup wizard: lib/stacks/up.ts's up() (lib/swarm/up.ts's under swarm), its report, and its failure as the error (the reachable
// part of the report printed first). No logic of its own.
import type { FlagDecls } from '../core/flags.ts'
import type { TaskContext } from '../task/task.ts'
import { renderUpReport, up, upFailure, type UpReport } from '../stacks/up.ts'
import { runEngine } from '../task/task.ts'
import { swarmUp } from '../swarm/up.ts'
import type { Action, SetupContext } from './context.ts'

export async function startStacks(t: TaskContext<FlagDecls>, stacks: string[], timeout: number): Promise<UpReport> {
  // the engine .env names now (written by this setup), as `up` would read it
  const options = { stacks, skipInfisical: false, timeout }
  const report = runEngine(t) === 'swarm' ? await swarmUp(t, options) : await up(t, options)
  const failure = upFailure(report)
  if (failure) {
    if (report.reachable.length) t.out(renderUpReport(report))
    throw failure
  }
  return report
}

/** The last action of every setup: start the chosen stacks (lib/stacks/up.ts), each healthy before what comes after it. */
export function startPlatformAction(stacks: readonly string[], timeout: number): Action {
  return {
    title: `start the stacks: ${stacks.join(', ')} (each healthy before what comes after it)`,
    docker: true,
    starts: true,
    resume: ['npx zx tasks/up.ts'],
    async run(a) {
      a.report = await startStacks(a.task(), [...stacks], timeout)
    },
  }
}

/** Everything that runs after the .env write, in order. */
export function plannedActions(ctx: Pick<SetupContext, 'actions' | 'answers' | 'timeout'>): Action[] {
  return [...ctx.actions, ...(ctx.answers.stacks ? [startPlatformAction(ctx.answers.stacks, ctx.timeout)] : [])]
}

/** Why an action will not run now, if it will not. */
export function skipReason(a: Action, ctx: Pick<SetupContext, 'facts' | 'start'>): string | undefined {
  if (a.docker && !ctx.facts.docker) return 'Docker is not usable'
  if (a.starts && !ctx.start) return '--no-start'
  return undefined
}

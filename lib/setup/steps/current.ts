// Setup, before the questions: on a configured installation, show the current settings and (in a terminal) offer to
// keep them, so only what is missing is asked. Flags still change what they name. Asks at most one question.
import type { SetupContext } from '../context.ts'
import { renderSummary } from '../summary.ts'

type Ctx = Pick<SetupContext, 'configured' | 'current' | 'interactive' | 'yes' | 'ask' | 'log' | 'registry' | 'keep'>

export async function current(ctx: Ctx): Promise<void> {
  if (!ctx.configured) {
    ctx.log.step('first setup of this installation: a few questions, then a review before anything is written')
    return
  }
  ctx.log.step('this installation is set up (.env):')
  ctx.log.info(renderSummary(ctx.current, ctx.registry.stacks.map((s) => s.name)))
  if (!ctx.interactive || ctx.yes) {
    ctx.keep = true
    return
  }
  const choice = await ctx.ask.select({
    message: 'Keep these settings?',
    options: [
      { value: 'keep', label: 'Keep the current settings', hint: 'ask only what is missing, then review and apply' },
      { value: 'change', label: 'Change settings', hint: 'every question again, the current answers preselected' },
    ],
    initialValue: 'keep',
  })
  ctx.keep = choice === 'keep'
}

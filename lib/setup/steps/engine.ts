// Setup step, the engine: compose (one machine, or a few managed one by one) or swarm (several machines as one). Asked
// only where swarm can deploy (this engine is a swarm manager) or was chosen before; elsewhere compose, unasked.
// Queues STACKYARD_ENGINE for .env (compose is the default: written only to replace swarm).
import { ENGINES, type Engine } from '../../model/x-fields.ts'
import type { SetupContext } from '../context.ts'

type Ctx = Pick<SetupContext, 'answers' | 'current' | 'given' | 'files' | 'facts' | 'decide' | 'ask' | 'setEnv'>

export async function engine(ctx: Ctx): Promise<void> {
  const offered = ctx.facts.docker?.swarmManager || ctx.current.engine === 'swarm' || ctx.given.engine !== undefined
  if (!offered) {
    ctx.answers.engine = 'compose'
    return
  }
  const chosen = await ctx.decide<Engine>({
    key: 'engine',
    flag: `--engine ${ENGINES.join('|')}`,
    what: 'the engine: compose (each machine its own projects) or swarm (this swarm deploys the stacks)',
    current: ctx.current.engine,
    fallback: 'compose',
    prompt: (initial) =>
      ctx.ask.select<Engine>({
        message: 'Which engine runs the stacks?',
        options: [
          { value: 'compose', label: 'compose', hint: 'one machine, or a few managed one by one (Docker contexts)' },
          { value: 'swarm', label: 'swarm', hint: 'this swarm: Docker secrets, placement, health-gated rolling updates' },
        ],
        initialValue: initial,
      }),
  })
  if (!chosen) return
  ctx.answers.engine = chosen
  if (chosen === 'compose' && !ctx.files.effective.STACKYARD_ENGINE) return
  ctx.setEnv('STACKYARD_ENGINE', chosen, { pin: true })
}

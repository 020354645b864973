// The setup wizard, from a fresh clone to a healthy platform: preflight, then only the questions whose answers are not
// known yet (flags, --answers FILE, the current .env), a review of everything it will write or do (secrets masked),
// then .env in one atomic write (mode 0600, the previous file as .env.bak), Cloudflare and Infisical when chosen, and
// `up`. Nothing is written before the review is confirmed: Ctrl-C before it changes nothing (exit 130). Without a
// terminal it never asks: missing answers are listed with their flags (exit 2). Re-running is safe and converges.
// Usage: npx zx tasks/setup.ts [--environment private|public] [--domain D] [--stacks …] [--profile P] [--cloudflare M]
//        [--engine compose|swarm] [--infisical M] [--answers FILE] [--secrets-stdin] [--rotate KEY] [--yes] [--no-start] [--dry-run]
import { task } from '../lib/task/task.ts'
import { INSTANCE_PROFILE } from '../lib/infisical/config.ts'
import { createSetupContext, type SetupContext } from '../lib/setup/context.ts'
import { readSetupInput, SETUP_FLAGS } from '../lib/setup/input.ts'
import { preflight } from '../lib/setup/steps/preflight.ts'
import { current } from '../lib/setup/steps/current.ts'
import { environment } from '../lib/setup/steps/environment.ts'
import { stacks } from '../lib/setup/steps/stacks.ts'
import { engine } from '../lib/setup/steps/engine.ts'
import { cloudflare } from '../lib/setup/steps/cloudflare.ts'
import { infisical } from '../lib/setup/steps/infisical.ts'
import { secrets } from '../lib/setup/steps/secrets.ts'
import { review } from '../lib/setup/steps/review.ts'
import { apply } from '../lib/setup/steps/apply.ts'

const steps: Array<(ctx: SetupContext) => Promise<void>> = [
  preflight,
  current,
  environment,
  (ctx) => stacks(ctx, INSTANCE_PROFILE),
  engine,
  cloudflare,
  (ctx) => infisical(ctx, INSTANCE_PROFILE),
  secrets,
]

export default await task({
  summary: 'Set up this installation: a few questions, a review, then .env, Cloudflare, Infisical and the running stacks',
  description: [
    'Asks only what it does not know yet; every question has a flag (and a key in --answers FILE). Secrets never come',
    'from the command line: the environment (CLOUDFLARE_API_TOKEN, CLOUDFLARE_TUNNEL_TOKEN, INFISICAL_CLIENT_SECRET,',
    'INFISICAL_ADMIN_PASSWORD), --secrets-stdin (KEY=value lines), the answers file, or a masked prompt.',
    'Without a terminal it never prompts: missing answers are listed with their flags (exit 2); --yes takes defaults.',
  ].join('\n'),
  flags: SETUP_FLAGS,
  dryRun: true,
  yes: true,
  docker: true,
  // --engine swarm (or the engine question) writes STACKYARD_ENGINE and starts the stacks on the swarm
  swarm: true,
  examples: [
    'npx zx tasks/setup.ts',
    'npx zx tasks/setup.ts --yes                                  # private, every stack, defaults',
    'npx zx tasks/setup.ts --answers setup.yml --yes --no-start',
    'CLOUDFLARE_API_TOKEN=… npx zx tasks/setup.ts --environment public --domain example.com --cloudflare api-token --access-emails me@example.com --yes',
  ],
  async run(t) {
    const input = await readSetupInput(t)
    const ctx = createSetupContext(input, INSTANCE_PROFILE)
    for (const w of input.warnings) ctx.log.warn(w)
    t.log.step(`Stackyard setup${t.dryRun ? ' (dry run: nothing is written)' : ''}`)
    for (const step of steps) await step(ctx)
    ctx.failIfMissing()
    await review(ctx)
    return apply(ctx)
  },
}, import.meta)

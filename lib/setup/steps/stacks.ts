// Setup step 3, what runs: the stacks (the proxy's always, dependencies added), the optional services (compose
// profiles other than hardware, auto and the bundled Infisical's, which the Infisical step owns) and the hardware
// profile (the detected GPU offered). Queues STACKYARD_STACKS and STACKYARD_PROFILE; STACKYARD_PROFILES is written by
// the Infisical step, which knows the whole list.
import { UsageError } from '../../core/errors.ts'
import { HARDWARE_PROFILES, type HardwareProfile } from '../../model/x-fields.ts'
import type { Registry } from '../../model/registry.ts'
import type { SetupContext } from '../context.ts'
import { commaList } from '../../core/format.ts'

type Ctx = Pick<SetupContext, 'answers' | 'current' | 'given' | 'files' | 'facts' | 'decide' | 'ask' | 'setEnv' | 'registry' | 'log'>

/** The stacks to run: the chosen ones, the proxy's, and what they come after, in registry order. */
export function closeStacks(registry: Pick<Registry, 'stacks' | 'select' | 'proxy'>, names: readonly string[]): string[] {
  const wanted = names.includes('all') ? registry.stacks.map((s) => s.name) : [...names, ...(registry.proxy ? [registry.proxy.stack] : [])]
  return registry.select(wanted).map((s) => s.name)
}

/** Optional compose profiles of these stacks: not hardware, not switched on by a variable, not `exclude`. */
export function optionalProfiles(registry: Pick<Registry, 'stacks'>, stacks: readonly string[], exclude: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const s of registry.stacks.filter((x) => stacks.includes(x.name)))
    for (const svc of s.services)
      for (const p of svc.profiles)
        if (!(HARDWARE_PROFILES as readonly string[]).includes(p) && !(p in s.autoProfiles) && !exclude.includes(p)) out.set(p, [...(out.get(p) ?? []), svc.name])
  return out
}

export async function stacks(ctx: Ctx, instanceProfile = 'infisical'): Promise<void> {
  const { registry } = ctx
  const proxy = registry.proxy?.stack
  const all = registry.stacks.map((s) => s.name)
  const chosen = await ctx.decide<string[]>({
    key: 'stacks',
    flag: '--stacks all|NAME,…',
    what: `the stacks to run (${all.join(', ')})`,
    current: ctx.current.stacks,
    fallback: all,
    prompt: (initial) =>
      ctx.ask.multiselect<string>({
        message: `Which stacks should run?${proxy ? ` (${proxy}, with the proxy, always does)` : ''}`,
        options: registry.stacks.filter((s) => s.name !== proxy).map((s) => ({ value: s.name, label: s.name, hint: s.description })),
        initialValues: (initial ?? all).filter((n) => n !== proxy),
        required: false,
      }),
  })
  // unanswered (no terminal): the next questions assume every stack, so that all of them are listed at once
  const names = closeStacks(registry, chosen ?? all)
  if (chosen) {
    const added = names.filter((n) => !chosen.includes(n) && !chosen.includes('all') && n !== proxy)
    if (added.length) ctx.log.info(`also runs ${added.join(', ')} (the chosen stacks come after ${added.length > 1 ? 'them' : 'it'})`)
    ctx.answers.stacks = names
    ctx.setEnv('STACKYARD_STACKS', names.length === all.length ? '' : names.join(','), { pin: true })
  }

  const candidates = optionalProfiles(registry, names, [instanceProfile])
  const unknown = (ctx.given.optional ?? []).filter((p) => !candidates.has(p))
  if (unknown.length)
    throw new UsageError(`--optional ${unknown.join(',')}: not an optional service of the chosen stacks`, { hint: candidates.size ? `choose from: ${[...candidates.keys()].join(', ')} (or none)` : 'the chosen stacks have no optional services: drop --optional' })
  if (candidates.size) {
    const optional = await ctx.decide<string[]>({
      key: 'optional',
      flag: '--optional none|PROFILE,…',
      what: `optional services to switch on (${[...candidates.keys()].join(', ')})`,
      current: ctx.current.optional?.filter((p) => candidates.has(p)),
      fallback: commaList(ctx.files.global.STACKYARD_PROFILES).filter((p) => candidates.has(p)),
      prompt: (initial) =>
        ctx.ask.multiselect<string>({
          message: 'Optional services to switch on',
          options: [...candidates].map(([p, services]) => ({ value: p, label: p, hint: services.join(', ') })),
          initialValues: initial ?? [],
          required: false,
        }),
    })
    if (optional) ctx.answers.optional = optional
  } else ctx.answers.optional = []

  const hardware = registry.stacks.some((s) => names.includes(s.name) && s.profiles.some((p) => p !== 'none' && (HARDWARE_PROFILES as readonly string[]).includes(p)))
  if (!hardware && !ctx.given.profile) {
    ctx.answers.profile = ctx.current.profile
    return
  }
  const detected = ctx.facts.gpu
  const profile = await ctx.decide<HardwareProfile>({
    key: 'profile',
    flag: `--profile ${HARDWARE_PROFILES.join('|')}`,
    what: 'the hardware profile of the model server',
    current: ctx.current.profile,
    fallback: detected ?? ((ctx.files.global.STACKYARD_PROFILE as HardwareProfile) || 'cpu'),
    prompt: (initial) =>
      ctx.ask.select<HardwareProfile>({
        message: 'Hardware profile',
        options: [
          { value: 'cpu', label: 'cpu', hint: 'runs anywhere' },
          { value: 'gpu-nvidia', label: 'gpu-nvidia', hint: `NVIDIA GPU (driver + nvidia-container-toolkit)${detected === 'gpu-nvidia' ? ', detected' : ''}` },
          { value: 'gpu-amd', label: 'gpu-amd', hint: `AMD GPU with ROCm (/dev/kfd, /dev/dri)${detected === 'gpu-amd' ? ', detected' : ''}` },
          { value: 'none', label: 'none', hint: 'no model server' },
        ],
        initialValue: initial,
      }),
  })
  if (!profile) return
  ctx.answers.profile = profile
  ctx.setEnv('STACKYARD_PROFILE', profile, { pin: true })
}

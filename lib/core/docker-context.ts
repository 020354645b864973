// Remote Docker engines: `--context NAME` reaches every `docker` command through the runners (one place: the task
// harness builds its exec/change runners with it), the contexts a multi-host report covers (STACKYARD_CONTEXTS) and
// the stacks each host runs (STACKYARD_HOST_<NAME>_STACKS). Runners only wrap argv; no I/O of their own.
import { UsageError } from './errors.ts'
import { changeRunner, run, type Runner } from './exec.ts'
import { commaList, envNamePart } from './format.ts'

/** Docker's rule for context names (docker context create). */
export const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/

/** Docker's name for the engine it uses when no context is chosen. */
export const DEFAULT_CONTEXT = 'default'

export function checkContextName(name: string, where = '--context'): string {
  if (!CONTEXT_NAME.test(name))
    throw new UsageError(`${where}: "${name}" is not a Docker context name`, { hint: 'docker context ls lists them; names are letters, digits and _ . + -' })
  return name
}

/**
 * A runner whose `docker` commands carry the global `--context NAME` flag (before the subcommand, where the docker
 * CLI reads it). Other programs pass through unchanged. The flag beats DOCKER_HOST and `docker context use`.
 */
export function withDockerContext(runner: Runner, context: string | undefined): Runner {
  if (!context) return runner
  return (cmd, args, opts) => runner(cmd, cmd === 'docker' ? ['--context', context, ...args] : args, opts)
}

/** The read and change runners for one Docker context (the harness's, or one per host of a multi-host report). */
export function contextRunners(context: string | undefined, o: { dryRun: boolean; skipped: (what: string) => void }, real: Runner = run): { exec: Runner; change: Runner } {
  const base = withDockerContext(real, context)
  return { exec: base, change: changeRunner(o.dryRun, o.skipped, base) }
}

/** STACKYARD_CONTEXTS: the Docker contexts a multi-host status/health covers, in order (default: none configured). */
export function configuredContexts(values: Record<string, string | undefined>): string[] {
  const names = commaList(values.STACKYARD_CONTEXTS)
  for (const n of names) checkContextName(n, 'STACKYARD_CONTEXTS')
  return [...new Set(names)]
}

/** The variable naming the stacks a context runs: edge-1 → STACKYARD_HOST_EDGE_1_STACKS. */
export function hostStacksVariable(context: string): string {
  return hostVariable(context, 'STACKS')
}

/** A per-host setting: edge-1, PROFILES → STACKYARD_HOST_EDGE_1_PROFILES. */
export function hostVariable(context: string, what: 'STACKS' | 'PROFILES' | 'NODE'): string {
  return `STACKYARD_HOST_${envNamePart(context)}_${what}`
}

/** The optional compose profiles of a context (STACKYARD_HOST_<NAME>_PROFILES), or undefined: STACKYARD_PROFILES applies. */
export function hostProfiles(values: Record<string, string | undefined>, context: string | undefined): string[] | undefined {
  const raw = values[hostVariable(context ?? DEFAULT_CONTEXT, 'PROFILES')]
  return raw === undefined ? undefined : commaList(raw)
}

/**
 * The stacks assigned to a context (STACKYARD_HOST_<NAME>_STACKS, comma-separated), or undefined when the variable is
 * unset: then the installation-wide STACKYARD_STACKS applies, as on a single host.
 */
export function hostStacks(values: Record<string, string | undefined>, context: string | undefined): string[] | undefined {
  const raw = values[hostStacksVariable(context ?? DEFAULT_CONTEXT)]
  if (raw === undefined) return undefined
  return commaList(raw)
}

// What a doctor check is: its result, findings and inputs, and the helpers every check builds its result with. Types
// and pure functions only; the check list is lib/doctor.ts, checks of a domain live beside it (infisical-, ops-doctor).
import type { EnvLayers } from './env-layers.ts'
import type { Registry } from './registry.ts'
import type { Settings } from './settings.ts'
import { plural } from './format.ts'

export type Status = 'ok' | 'warn' | 'fail' | 'skip'

export interface Finding {
  status: Exclude<Status, 'ok' | 'skip'>
  message: string
  /** file:line, variable or flag it concerns */
  where?: string
  fix?: string
}

export interface CheckResult {
  id: string
  title: string
  status: Status
  /** one line when all is well */
  summary: string
  findings: Finding[]
}

export interface DoctorInput {
  root: string
  registry(): Registry
  env(): EnvLayers
  /** true when git tracks the path (relative to root); undefined when git cannot tell */
  gitTracked(path: string): Promise<boolean | undefined>
}

export interface Loaded {
  registry?: Registry
  registryError?: Error
  env?: EnvLayers
  envError?: Error
  settings?: Settings
  settingsError?: Error
}

export type Check = (input: DoctorInput, loaded: Loaded) => CheckResult | Promise<CheckResult>

/** A check's result from its findings: fail if any fails, warn if any, else ok with the summary. */
export function result(id: string, title: string, findings: Finding[], okSummary: string): CheckResult {
  const status: Status = findings.some((f) => f.status === 'fail') ? 'fail' : findings.length ? 'warn' : 'ok'
  return { id, title, status, summary: status === 'ok' ? okSummary : plural(findings.length, 'finding'), findings }
}

/** `file:line` of the layer a key's value comes from (undefined for the shell or the derived layer) */
export const sourceWhere = (env: Pick<EnvLayers, 'sources'>, key: string): string | undefined => {
  const src = env.sources[key]
  return src?.file ? `${src.file}${src.line ? `:${src.line}` : ''}` : undefined
}

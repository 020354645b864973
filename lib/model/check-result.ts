// What a check reports, for doctor, health and the live checks alike: a status, a one-line summary and findings that
// say where and what to do; the helpers a check builds its result with. Types and pure functions only.
import type { EnvLayers } from '../env/layers.ts'
import { plural } from '../core/format.ts'

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

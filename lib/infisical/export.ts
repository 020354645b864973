// The export `up` runs before starting stacks: Infisical → .env.infisical with a visible fallback when Infisical
// cannot be used (keep the last good export, or .env alone). Takes values, registry and root; never prompts,
// never throws for an Infisical failure (the note says what happened), never silent.
import { printable } from '../core/format.ts'
import type { Transport } from '../core/http.ts'
import { InfisicalApiError } from './client.ts'
import { isConfigured, readInfisicalConfig } from './config.ts'
import { INFISICAL_ENV_FILE, lastExport, openSession, renderRemote, writeExport } from './sync.ts'
import type { Registry } from '../model/registry.ts'
import { StackyardError } from '../core/errors.ts'

export interface ExportInput {
  root: string
  values: Record<string, string | undefined>
  registry: Pick<Registry, 'secrets' | 'services' | 'variables'>
  /** --skip-infisical */
  skip: boolean
  dryRun: boolean
  transport?: Transport
}

export interface ExportOutcome {
  /** the env file to pass last, or null for .env alone */
  file: string | null
  note: string
  level: 'info' | 'warn'
  /** what happened, for --json */
  status: 'exported' | 'unchanged' | 'would-export' | 'kept-last' | 'env-only' | 'not-configured' | 'skipped'
  keys?: string[]
  warnings: string[]
  error?: { kind: string; message: string; hint?: string }
}

export async function exportSecretLayer(input: ExportInput): Promise<ExportOutcome> {
  const warnings: string[] = []
  if (input.skip) return { file: null, note: '--skip-infisical: using .env alone; Infisical was not consulted and .env.infisical is not used', level: 'warn', status: 'skipped', warnings }
  let config
  try {
    config = readInfisicalConfig(input.values)
  } catch (err) {
    return fallback(input, err, warnings)
  }
  if (!isConfigured(config)) return { file: null, note: 'Infisical is not configured (INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET, INFISICAL_PROJECT_ID): using .env', level: 'info', status: 'not-configured', warnings }
  try {
    const session = openSession({ values: input.values, registry: input.registry, transport: input.transport })
    const r = await renderRemote(session.client, session.scope, session.selection, { expand: true })
    if (r.invalidNames.length) warnings.push(`skipped ${r.invalidNames.length} Infisical key(s) that are not variable names: ${r.invalidNames.map(printable).join(', ')}`)
    if (r.excluded.length) warnings.push(`left out ${r.excluded.length} key(s) that stay local or are excluded: ${r.excluded.join(', ')}`)
    if (r.unresolved.length) warnings.push(`secret references expanded to an empty value (unresolved?): ${r.unresolved.join(', ')}`)
    const keys = Object.keys(r.entries)
    const where = `${session.scope.environment}${session.scope.secretPath === '/' ? '' : session.scope.secretPath}`
    if (input.dryRun)
      return { file: INFISICAL_ENV_FILE, note: `would write ${INFISICAL_ENV_FILE} with ${keys.length} secret(s) from Infisical (${where})`, level: 'info', status: 'would-export', keys, warnings }
    const { wrote } = await writeExport(input.root, session.client.origin, session.scope, r.entries)
    return {
      file: INFISICAL_ENV_FILE,
      note: `${keys.length} secret(s) from Infisical (${where}) ${wrote ? 'written to' : 'unchanged in'} ${INFISICAL_ENV_FILE}`,
      level: warnings.length ? 'warn' : 'info',
      status: wrote ? 'exported' : 'unchanged',
      keys,
      warnings,
    }
  } catch (err) {
    return fallback(input, err, warnings)
  }
}

async function fallback(input: ExportInput, err: unknown, warnings: string[]): Promise<ExportOutcome> {
  if (!(err instanceof StackyardError)) throw err
  const kind = err instanceof InfisicalApiError ? err.kind : 'config'
  const error = { kind, message: err.message, hint: err.hint }
  const last = await lastExport(input.root)
  if (last)
    return {
      file: INFISICAL_ENV_FILE,
      note: `Infisical could not be used (${err.message}): using the last good ${INFISICAL_ENV_FILE}, exported ${last.toISOString()}`,
      level: 'warn',
      status: 'kept-last',
      warnings,
      error,
    }
  return { file: null, note: `Infisical could not be used (${err.message}) and there is no earlier export: using .env alone`, level: 'warn', status: 'env-only', warnings, error }
}

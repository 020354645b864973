// The seam between `up` and the secrets manager: before stacks start, `up` asks which top env layer
// to pass to Compose. Infisical support (lib/infisical*.ts) plugs in here; nothing else in `up` knows
// about Infisical. No prompts; may read env and call the provider's API through the context.
import type { EnvLayers } from './env-layers.ts'

export interface SecretLayer {
  /** the env file to pass last (`--env-file .env.infisical`), or null to use .env alone */
  file: string | null
  /** one sentence for the user: what was used and why (e.g. the fallback and its reason) */
  note: string
  /** warn when falling back; info when all is as configured */
  level: 'info' | 'warn'
}

export interface SecretLayerInput {
  root: string
  env: EnvLayers
  /** --skip-infisical */
  skip: boolean
  dryRun: boolean
}

/** Infisical is configured when a machine identity and a project are set. */
export function infisicalConfigured(values: Record<string, string | undefined>): boolean {
  return Boolean(values.INFISICAL_CLIENT_ID && values.INFISICAL_CLIENT_SECRET && values.INFISICAL_PROJECT_ID)
}

/**
 * Decides the top layer before `up`. Until the Infisical export lands this only reports the state:
 * not configured → .env alone; configured → a visible warning that the export is not available yet.
 */
export async function prepareSecretLayer(input: SecretLayerInput): Promise<SecretLayer> {
  if (!infisicalConfigured(input.env.values)) return { file: null, note: 'Infisical is not configured: using .env', level: 'info' }
  if (input.skip) return { file: null, note: '--skip-infisical: using .env alone, not Infisical', level: 'warn' }
  return { file: null, note: 'Infisical export is not available in this version: using .env alone', level: 'warn' }
}

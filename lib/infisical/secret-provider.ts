// The seam between `up` and the secrets manager: before stacks start, `up` asks which top env layer
// to pass to Compose. Infisical support (lib/infisical*.ts) plugs in here; nothing else in `up` knows
// about Infisical. No prompts; may read env and call the provider's API through the context.
import type { EnvLayers } from '../env/layers.ts'
import { exportSecretLayer } from './export.ts'
import { loadRegistry } from '../model/registry.ts'
import { configValues } from './config.ts'

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

/**
 * Decides the top layer before `up`: with Infisical configured, exports it to .env.infisical (references expanded);
 * when Infisical cannot be used, keeps the last good .env.infisical or falls back to .env alone, and says which.
 * --skip-infisical uses .env alone, with a warning. Never throws for an Infisical failure; never silent.
 */
export async function prepareSecretLayer(input: SecretLayerInput): Promise<SecretLayer> {
  const r = await exportSecretLayer({ root: input.root, values: configValues(input.env), registry: loadRegistry(input.root), skip: input.skip, dryRun: input.dryRun })
  const extra = r.warnings.length ? ` (${r.warnings.join('; ')})` : ''
  return { file: r.file, note: r.note + extra, level: r.level }
}

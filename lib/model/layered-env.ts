// The env of an installation, read in two passes: the env files and the shell, then again with the derived layer
// (each route's URL variable), which depends on the settings those files hold. The one loader of the layered env
// for tasks, stack plans and restores; reads env files only.
import { loadEnvLayers, type EnvLayers } from '../env/layers.ts'
import type { Registry } from './registry.ts'
import { derivedEnv } from './routes.ts'
import { readSettings, type Settings } from './settings.ts'
import { STATE_DIR } from '../core/paths.ts'
import type { Environment, HardwareProfile } from './x-fields.ts'

/** the derived layer as a file, for Compose (written by up) */
export const DERIVED_ENV_FILE = `${STATE_DIR}/derived.env`

export interface ComposeEnv {
  /** exactly what Compose sees through these --env-file layers (and the shell) */
  layers: EnvLayers
  settings: Settings
  derived: Record<string, string>
}

/**
 * Loads the layers Compose will be given (the same files, the same order) plus the derived layer, and the settings
 * with the command line's overrides. Two passes: the derived URLs depend on the settings, which come from the files.
 */
export function composeEnv(
  root: string,
  registry: Registry,
  envFiles: readonly string[] | undefined,
  overrides: { environment?: Environment; profile?: HardwareProfile; contents?: ReadonlyMap<string, string> } = {},
): ComposeEnv {
  // undefined: the default chain and its secret-layer rule (a restore checking an archive's files in their place)
  const files = envFiles?.filter((f) => !f.endsWith(DERIVED_ENV_FILE)).map((f) => (f.startsWith(root + '/') ? f.slice(root.length + 1) : f))
  const first = loadEnvLayers({ root, files, contents: overrides.contents })
  const settings = readSettings(first.values, first, overrides)
  const derived = derivedEnv(registry, settings)
  const layers = loadEnvLayers({ root, files, derived, contents: overrides.contents })
  return { layers, settings: readSettings(layers.values, layers, overrides), derived }
}

// What a doctor check is: a function of the repository's inputs (registry, env, settings, each loaded once, its error
// kept) to a check result. Types only; the check list is lib/doctor/checks.ts, checks of a domain live beside it.
import type { EnvLayers } from '../env/layers.ts'
import type { Registry } from '../model/registry.ts'
import type { Settings } from '../model/settings.ts'
import type { CheckResult } from '../model/check-result.ts'

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


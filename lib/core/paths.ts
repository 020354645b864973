// Where things are: the repository root (the folder holding package.json, lib/, tasks/, compose/).
// Derived from this file's location, so a copy of the repository is a separate platform.
import { resolve } from 'node:path'

export const repoRoot = resolve(import.meta.dirname, '..', '..')

/** Env layers in Compose precedence order (later wins), relative to the root. */
export const ENV_FILES = ['.env.global', '.env', '.env.infisical'] as const

/** Generated state (rendered configs, derived env, update history); git-ignored. */
export const STATE_DIR = '.stackyard'

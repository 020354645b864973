// Which Compose the env engine models: the version preflight last measured (`.stackyard/compose-version`), or
// STACKYARD_COMPOSE_VERSION from the shell; the current rules when neither is known. The three behaviours that
// differ between Compose versions in reading env files are switched on for the versions that have them.
import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { CURRENT_RULES, type DotenvRules } from './dotenv.ts'
import { STATE_DIR } from '../core/paths.ts'
import { writeFileAtomic } from '../core/fs-atomic.ts'
import { scope } from '../core/scope.ts'

export const COMPOSE_VERSION_FILE = `${STATE_DIR}/compose-version`

/** The rules of a Compose version ("2.26.1", "v2.39.1-desktop.1"); the current ones for an unknown version. */
export function rulesFor(version: string | undefined): DotenvRules {
  const v = version ? parseVersion(version) : undefined
  if (!v) return CURRENT_RULES
  return { earlierFilesFirst: !versionAtLeast(v, '2.39.0'), setenvStrict: !versionAtLeast(v, '2.39.3'), eagerDefaults: !versionAtLeast(v, '5.0.2') }
}

export interface ModelledCompose {
  /** the version modelled, or undefined: unknown (the current rules) */
  version?: string
  /** where it comes from */
  source: 'shell' | 'measured' | 'default'
  rules: DotenvRules
}

/** The Compose this checkout is run with, as far as it is known without running it. */
export function modelledCompose(root: string, shell: Record<string, string | undefined> = scope().env): ModelledCompose {
  const fromShell = shell.STACKYARD_COMPOSE_VERSION
  if (fromShell && parseVersion(fromShell)) return { version: fromShell, source: 'shell', rules: rulesFor(fromShell) }
  let recorded: string | undefined
  try {
    recorded = readFileSync(join(root, COMPOSE_VERSION_FILE), 'utf8').trim()
  } catch {
    recorded = undefined
  }
  if (recorded && parseVersion(recorded)) return { version: recorded, source: 'measured', rules: rulesFor(recorded) }
  return { source: 'default', rules: CURRENT_RULES }
}

/** Records the version preflight measured (generated state, git-ignored; written atomically); true when it changed. */
export async function recordComposeVersion(root: string, version: string): Promise<boolean> {
  const file = join(root, COMPOSE_VERSION_FILE)
  await mkdir(dirname(file), { recursive: true })
  return (await writeFileAtomic(file, version + '\n', { mode: 0o644 })).changed
}

/** Parses `docker compose version --short` ("2.39.1", "v2.24.0-desktop.1") into [major, minor, patch]. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim())
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined
}

export function versionAtLeast(v: readonly number[], min: string): boolean {
  const m = parseVersion(min)!
  for (let i = 0; i < 3; i++) if (v[i] !== m[i]) return v[i] > m[i]
  return true
}

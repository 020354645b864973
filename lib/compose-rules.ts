// Which Compose the env engine models: the version preflight last measured (`.stackyard/compose-version`), or
// STACKYARD_COMPOSE_VERSION from the shell; the current rules when neither is known. The three behaviours that
// differ between Compose versions in reading env files are switched on for the versions that have them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { CURRENT_RULES, type DotenvRules } from './env.ts'
import { STATE_DIR } from './paths.ts'

export const COMPOSE_VERSION_FILE = `${STATE_DIR}/compose-version`

type Version = readonly [number, number, number]

const parse = (text: string): Version | undefined => {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim())
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined
}
const before = (v: Version, major: number, minor: number, patch: number) => v[0] !== major ? v[0] < major : v[1] !== minor ? v[1] < minor : v[2] < patch

/** The rules of a Compose version ("2.26.1", "v2.39.1-desktop.1"); the current ones for an unknown version. */
export function rulesFor(version: string | undefined): DotenvRules {
  const v = version ? parse(version) : undefined
  if (!v) return CURRENT_RULES
  return { earlierFilesFirst: before(v, 2, 39, 0), setenvStrict: before(v, 2, 39, 3), eagerDefaults: before(v, 5, 0, 2) }
}

/** The oldest and the newest rules: a configuration that reads the same under both reads the same everywhere. */
export const OLDEST_RULES: DotenvRules = { earlierFilesFirst: true, setenvStrict: true, eagerDefaults: true }

export interface ModelledCompose {
  /** the version modelled, or undefined: unknown (the current rules) */
  version?: string
  /** where it comes from */
  source: 'shell' | 'measured' | 'default'
  rules: DotenvRules
}

/** The Compose this checkout is run with, as far as it is known without running it. */
export function modelledCompose(root: string, shell: Record<string, string | undefined> = process.env): ModelledCompose {
  const fromShell = shell.STACKYARD_COMPOSE_VERSION
  if (fromShell && parse(fromShell)) return { version: fromShell, source: 'shell', rules: rulesFor(fromShell) }
  let recorded: string | undefined
  try {
    recorded = readFileSync(join(root, COMPOSE_VERSION_FILE), 'utf8').trim()
  } catch {
    recorded = undefined
  }
  if (recorded && parse(recorded)) return { version: recorded, source: 'measured', rules: rulesFor(recorded) }
  return { source: 'default', rules: CURRENT_RULES }
}

/** Records the version preflight measured (generated state, git-ignored); true when it changed. */
export function recordComposeVersion(root: string, version: string): boolean {
  const file = join(root, COMPOSE_VERSION_FILE)
  try {
    if (readFileSync(file, 'utf8').trim() === version) return false
  } catch {}
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, version + '\n', { mode: 0o644 })
  return true
}

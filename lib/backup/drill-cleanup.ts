// Removing what restore drills made: every container (the services' and the helper containers'), volume and network
// labelled io.stackyard.verify=<pid>-<hex>, either one drill's (its own cleanup) or those whose process is gone (a
// killed drill's leftovers, swept by the next drill); and their private folders under .stackyard/.
// Through the context's runners (dry-run aware), plus a synchronous variant for Ctrl-C. Never touches anything else.
import { spawnSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { DRILL_LABEL, DRILL_PREFIX, drillOf } from './drill-plan.ts'
import { processAlive } from '../core/fs-atomic.ts'
import { STATE_DIR } from '../core/paths.ts'
import type { Runner } from '../core/exec.ts'

/** A drill's private folder (its compose files): .stackyard/verify-<id> */
export const drillDir = (root: string, id: string) => join(root, STATE_DIR, `verify-${id}`)

export interface DrillObjects {
  containers: string[]
  volumes: string[]
  networks: string[]
}

/** Which drills a removal is for: one (by id), or every drill whose process is gone. */
export type DrillSelector = { id: string } | { stale: true }

/** `value`: a drill id (the label's value) */
const selected = (sel: DrillSelector, value: string) => {
  const d = drillOf(`${DRILL_PREFIX}${value}`)
  if (!d) return false
  return 'id' in sel ? d.id === sel.id : d.pid !== process.pid && !processAlive(d.pid)
}

const LIST = {
  containers: ['ps', '-a', '--filter', `label=${DRILL_LABEL}`, '--format', `{{.ID}}\t{{.Label "${DRILL_LABEL}"}}`],
  volumes: ['volume', 'ls', '--filter', `label=${DRILL_LABEL}`, '--format', `{{.Name}}\t{{.Label "${DRILL_LABEL}"}}`],
  networks: ['network', 'ls', '--filter', `label=${DRILL_LABEL}`, '--format', `{{.Name}}\t{{.Label "${DRILL_LABEL}"}}`],
} as const

/** `name<TAB>drill id` lines → the names of the selected drills' objects */
export function pick(stdout: string, sel: DrillSelector): string[] {
  return stdout.split('\n').map((l) => l.trim().split('\t')).filter(([name, id]) => name && id !== undefined && selected(sel, id)).map(([name]) => name)
}

const REMOVE = {
  containers: (names: string[]) => ['rm', '-f', '-v', ...names],
  volumes: (names: string[]) => ['volume', 'rm', '-f', ...names],
  networks: (names: string[]) => ['network', 'rm', ...names],
}

/**
 * Removes the selected drills' containers (with their anonymous volumes), then volumes, then networks. Returns what
 * it removed and what it could not (a failure is reported, never thrown: the next drill tries again).
 */
export async function removeDrills(o: { exec: Runner; change: Runner }, sel: DrillSelector): Promise<DrillObjects & { failed: string[] }> {
  const done: DrillObjects = { containers: [], volumes: [], networks: [] }
  const failed: string[] = []
  for (const kind of ['containers', 'volumes', 'networks'] as const) {
    const listed = await o.exec('docker', LIST[kind], { nothrow: true })
    if (listed.exitCode !== 0) {
      failed.push(`cannot list ${kind}: ${listed.stderr.trim().split('\n').pop() ?? ''}`)
      continue
    }
    const names = pick(listed.stdout, sel)
    if (!names.length) continue
    const r = await o.change('docker', REMOVE[kind](names), { nothrow: true })
    if (r.exitCode === 0) done[kind].push(...names)
    else failed.push(`${kind} ${names.join(', ')}: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`}`)
  }
  return { ...done, failed }
}

/** The same, synchronously (a Ctrl-C handler cannot wait for promises): best effort, reports nothing. */
export function removeDrillSync(context: string | undefined, id: string, dirs: readonly string[]): void {
  const docker = (args: readonly string[]) => spawnSync('docker', [...(context ? ['--context', context] : []), ...args], { encoding: 'utf8', timeout: 120_000 })
  // Ctrl-C reached Compose and the helper containers too: what they were creating may appear after a first pass
  for (let pass = 0; pass < 3; pass++) {
    let found = 0
    for (const kind of ['containers', 'volumes', 'networks'] as const) {
      const names = pick(docker(LIST[kind]).stdout ?? '', { id })
      found += names.length
      if (names.length) docker(REMOVE[kind](names))
    }
    if (!found) break
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}

/** Private folders of drills whose process is gone (.stackyard/verify-<pid>-<hex>), removed; returns their names. */
export async function sweepDrillDirs(root: string, dryRun: boolean): Promise<string[]> {
  let names: string[]
  try {
    names = readdirSync(join(root, STATE_DIR))
  } catch {
    return []
  }
  const stale = names.filter((n) => n.startsWith('verify-') && selected({ stale: true }, n.slice('verify-'.length)))
  if (!dryRun) for (const n of stale) await rm(join(root, STATE_DIR, n), { recursive: true, force: true })
  return stale
}

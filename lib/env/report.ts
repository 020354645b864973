// Describes the merged environment for display: value (masked when secret), source, shadowing.
// Pure: no I/O; secrets (by lib/env/secrecy.ts: where a value comes from and what is declared) are never included unmasked.
import type { EnvLayers, EnvSource } from './layers.ts'
import { mask } from '../core/redact.ts'
import { isSecretKey } from './secrecy.ts'
import { color } from '../core/log.ts'
import { table } from '../core/format.ts'

export interface EnvRow {
  key: string
  /** the value, or its mask when the key is secret */
  value: string
  secret: boolean
  source: string
  layers: string[]
  shadowedByShell: boolean
}

export function sourceLabel(s: EnvSource | undefined): string {
  if (!s) return '?'
  if (s.kind === 'shell') return 'shell'
  if (s.kind === 'derived') return 'derived (x-route)'
  return `${s.file}${s.line ? `:${s.line}` : ''}`
}

export function describeEnv(env: EnvLayers, declaredSecrets: Set<string>): EnvRow[] {
  const shadowed = new Set(env.shadowed.filter((s) => s.differs).map((s) => s.key))
  return Object.keys(env.values)
    .sort()
    .map((key) => {
      const secret = isSecretKey(key, env, declaredSecrets)
      const v = env.values[key]
      return {
        key,
        value: secret ? mask(v) : v,
        secret,
        source: sourceLabel(env.sources[key]),
        layers: (env.history[key] ?? []).map(sourceLabel),
        shadowedByShell: shadowed.has(key),
      }
    })
}

export function renderEnv(rows: EnvRow[], env: EnvLayers, showLayers: boolean): string {
  const body = rows.map((r) => [
    r.key,
    r.secret ? color.dim(r.value) : r.value === '' ? color.dim('(empty)') : r.value,
    (r.shadowedByShell ? color.yellow(r.source) : color.dim(r.source)) + (showLayers && r.layers.length > 1 ? color.dim(`  (${r.layers.join(' < ')})`) : ''),
  ])
  const lines = [`Layers (later wins): ${env.loadedFiles.join(' < ') || 'none'} < shell`, '', table([['KEY', 'VALUE', 'FROM'], ...body])]
  const shadow = env.shadowed.filter((s) => s.differs)
  if (shadow.length) {
    lines.push('')
    for (const s of shadow) lines.push(color.yellow(`▲ ${s.key}: your shell overrides ${s.file}:${s.line}; Compose uses the shell value`))
  }
  return lines.join('\n')
}

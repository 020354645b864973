// Parsers for what Docker reports: `compose ps --format json`, `inspect` (container state and health log),
// `image inspect`, `info`. Pure functions of command output, validated with zod; no I/O.
import { z } from 'zod'
import { FailureError } from '../core/errors.ts'
import { parseJsonAs } from '../core/format.ts'

const Publisher = z.looseObject({
  URL: z.string().optional().default(''),
  TargetPort: z.number().optional().default(0),
  PublishedPort: z.number().optional().default(0),
  Protocol: z.string().optional().default('tcp'),
})
const PsRow = z.looseObject({
  Name: z.string(),
  Service: z.string(),
  Project: z.string().optional().default(''),
  Image: z.string().optional().default(''),
  State: z.string().optional().default(''),
  Health: z.string().optional().default(''),
  Status: z.string().optional().default(''),
  CreatedAt: z.string().optional().default(''),
  ExitCode: z.number().optional().default(0),
  Publishers: z.array(Publisher).nullish().transform((p) => p ?? []),
  /** the networks it is attached to, comma-separated */
  Networks: z.string().optional().default(''),
})
export type PsRow = z.infer<typeof PsRow>

/** A service container that serves: running, and healthy or without a health check. */
export const isServing = (row: Pick<PsRow, 'State' | 'Health'> | undefined): boolean => row?.State === 'running' && (row.Health === '' || row.Health === 'healthy')

/** A container row of `docker compose ps --format json`: JSON lines (Compose ≥ 2.21) or one JSON array (older). */
export function parsePs(stdout: string): PsRow[] {
  const text = stdout.trim()
  if (!text) return []
  let items: unknown[]
  try {
    items = text.startsWith('[') ? (JSON.parse(text) as unknown[]) : text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
  } catch (err) {
    throw new FailureError(`cannot read \`docker compose ps\` output: ${(err as Error).message}`, { hint: 'is this Docker Compose v2? run docker compose version' })
  }
  return items.map((i) => {
    const r = PsRow.safeParse(i)
    if (!r.success) throw new FailureError(`unexpected \`docker compose ps\` row: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`)
    return r.data
  })
}

/** "Up 5 minutes (healthy)" → "5 minutes"; "Exited (1) 2 hours ago" → "" */
export function uptime(status: string): string {
  const m = /^Up\s+(.+?)(?:\s+\((?:healthy|unhealthy|health: starting|starting|Paused)\))?$/.exec(status.trim())
  return m ? m[1] : ''
}

const HealthLog = z.looseObject({ Start: z.string().optional(), End: z.string().optional(), ExitCode: z.number().optional(), Output: z.string().optional().default('') })
const ContainerInspect = z.looseObject({
  Id: z.string().optional().default(''),
  Name: z.string().optional().default(''),
  Image: z.string().optional().default(''),
  Config: z.looseObject({ Image: z.string().optional().default('') }).optional(),
  State: z.looseObject({
    Status: z.string().optional().default(''),
    ExitCode: z.number().optional().default(0),
    Error: z.string().optional().default(''),
    Health: z.looseObject({ Status: z.string().optional().default(''), Log: z.array(HealthLog).nullish().transform((l) => l ?? []) }).nullish(),
  }),
})
export type ContainerInspect = z.infer<typeof ContainerInspect>

/** `docker inspect <container>` (an array with one object). */
export function parseContainerInspect(stdout: string): ContainerInspect | undefined {
  let data: unknown
  try {
    data = JSON.parse(stdout)
  } catch {
    return undefined
  }
  const first = Array.isArray(data) ? data[0] : data
  const r = ContainerInspect.safeParse(first)
  return r.success ? r.data : undefined
}

/** The last health-check outputs, newest last, trimmed: what a failing check said. */
export function healthOutput(c: ContainerInspect, last = 3): string[] {
  return (c.State.Health?.Log ?? []).slice(-last).map((l) => `exit ${l.ExitCode ?? '?'}: ${l.Output.trim() || '(no output)'}`)
}

const ImageInspect = z.looseObject({
  Id: z.string(),
  RepoTags: z.array(z.string()).nullish().transform((t) => t ?? []),
  RepoDigests: z.array(z.string()).nullish().transform((d) => d ?? []),
})
export interface ImageInfo {
  id: string
  /** `name@sha256:…`: the registry digest, when the image came from a registry */
  repoDigest?: string
}

/** `docker image inspect <ref>`; the repo digest matching the reference's repository when there are several. */
export function parseImageInspect(stdout: string, ref?: string): ImageInfo | undefined {
  let data: unknown
  try {
    data = JSON.parse(stdout)
  } catch {
    return undefined
  }
  const r = ImageInspect.safeParse(Array.isArray(data) ? data[0] : data)
  if (!r.success) return undefined
  const repo = ref ? repository(ref) : undefined
  const digest = r.data.RepoDigests.find((d) => repo && repository(d) === repo) ?? r.data.RepoDigests[0]
  return { id: r.data.Id, repoDigest: digest }
}

/** "caddy:2.10.2-alpine" → "caddy"; "ghcr.io/a/b@sha256:…" → "ghcr.io/a/b"; "localhost:5000/x:1" → "localhost:5000/x" */
export function repository(ref: string): string {
  const noDigest = ref.split('@')[0]
  const slash = noDigest.lastIndexOf('/')
  const colon = noDigest.lastIndexOf(':')
  return colon > slash ? noDigest.slice(0, colon) : noDigest
}

/** sha256:0123456789abcdef… → 0123456789ab (for tables) */
export function shortDigest(d: string | undefined): string {
  if (!d) return '—'
  const hex = d.split('sha256:').pop() ?? d
  return hex.slice(0, 12)
}

const Info = z.looseObject({
  ServerVersion: z.string().optional().default(''),
  Runtimes: z.record(z.string(), z.unknown()).nullish().transform((r) => r ?? {}),
  ClientInfo: z.looseObject({ Plugins: z.array(z.looseObject({ Name: z.string().optional(), Version: z.string().optional() })).nullish() }).nullish(),
  Swarm: z.looseObject({ LocalNodeState: z.string().optional(), ControlAvailable: z.boolean().optional() }).nullish(),
})
/**
 * `docker info --format '{{json .}}'`: the runtimes (nvidia?), the engine version, and the Compose plugin's version
 * when the CLI lists its plugins (Docker 20.10+), which saves a `docker compose version`.
 */
export function parseInfo(stdout: string): { serverVersion: string; runtimes: string[]; composePlugin?: string; swarmManager?: true } | undefined {
  try {
    const r = Info.safeParse(JSON.parse(stdout))
    const compose = r.success ? r.data.ClientInfo?.Plugins?.find((p) => p.Name === 'compose')?.Version : undefined
    const manager = r.success && r.data.Swarm?.LocalNodeState === 'active' && r.data.Swarm.ControlAvailable === true
    return r.success ? { serverVersion: r.data.ServerVersion, runtimes: Object.keys(r.data.Runtimes), ...(compose ? { composePlugin: compose } : {}), ...(manager ? { swarmManager: true as const } : {}) } : undefined
  } catch {
    return undefined
  }
}

/** `docker compose config --format json`: service → image, for the services the profiles enable. */
export function parseConfigImages(stdout: string): Record<string, string> {
  const doc = parseJsonAs(z.looseObject({ services: z.record(z.string(), z.looseObject({ image: z.string().optional() })).optional() }), stdout || '{}')
  if (!doc) throw new FailureError('unexpected `docker compose config --format json` output')
  return Object.fromEntries(Object.entries(doc.services ?? {}).flatMap(([name, s]) => (s.image ? [[name, s.image]] : [])))
}

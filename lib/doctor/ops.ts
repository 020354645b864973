// Doctor checks for operations: no service mounts the Docker socket except a declared socket proxy (x-socket-proxy),
// which mounts it read-only and joins only internal networks; every service with a named volume says how it is
// backed up (x-backup). Reads the compose files (base and overrides) doctor can see; changes nothing.
import { join } from 'node:path'
import { readYamlFile } from '../core/yaml-file.ts'
import { result, type CheckResult, type Finding } from '../model/check-result.ts'
import type { DoctorInput, Loaded } from './check.ts'
import type { Registry } from '../model/registry.ts'
import { isDockerSocket, namedVolumeKeys, serviceMounts } from '../model/volumes.ts'
import { plural } from '../core/format.ts'

interface ComposeFile {
  file: string
  services: Record<string, Record<string, unknown> | null>
  networks: Record<string, { internal?: boolean; external?: boolean } | null>
}

/** Every stack's compose files (base and overrides, as the registry found them), with the parts these checks read. */
function composeFiles(root: string, registry: Registry): ComposeFile[] {
  return registry.stacks.flatMap((stack) =>
    [stack.file, ...Object.values(stack.overrides)].map((file) => {
      const doc = (readYamlFile(join(root, file), file).data ?? {}) as Partial<ComposeFile>
      return { file, services: doc.services ?? {}, networks: doc.networks ?? {} }
    }),
  )
}

const FIX = 'reach Docker through a socket proxy that allows only the API the service needs (see compose/05-ops: a service with x-socket-proxy: true, DOCKER_HOST=tcp://<proxy>:2375 in the consumer)'

// function declarations (not consts): doctor.ts and this file import each other, and hoisted functions are ready first
export function socketProxyCheck(input: DoctorInput, l: Loaded): CheckResult {
  const id = 'docker-socket'
  const title = 'Docker socket'
  if (!l.registry) return { id, title, status: 'skip', summary: 'needs valid metadata', findings: [] }
  const files = composeFiles(input.root, l.registry)
  const proxies = new Set(l.registry.services.filter((s) => s.socketProxy).map((s) => s.name))
  const findings: Finding[] = []
  let mounts = 0
  for (const f of files) {
    for (const [name, svc] of Object.entries(f.services)) {
      for (const m of serviceMounts(svc?.volumes)) {
        if (!(m.type === 'bind' || m.type === 'volume') || !isDockerSocket(m.source)) continue
        mounts++
        if (!proxies.has(name)) {
          findings.push({ status: 'fail', message: `services.${name} mounts the Docker socket directly (${m.source}): full control of the host for that container`, where: f.file, fix: FIX })
          continue
        }
        if (!m.readOnly) findings.push({ status: 'warn', message: `services.${name} (the socket proxy) mounts ${m.source} read-write`, where: f.file, fix: 'append :ro to the mount' })
      }
      if (!proxies.has(name) || f.file.includes('override')) continue
      const raw = svc?.networks
      const joined = Array.isArray(raw) ? raw.map(String) : raw && typeof raw === 'object' ? Object.keys(raw) : ['default']
      const open = joined.filter((n) => f.networks[n]?.internal !== true)
      if (open.length)
        findings.push({ status: 'fail', message: `services.${name} (a socket proxy) joins ${open.map((n) => `"${n}"`).join(', ')}, not an internal network: every container there can drive Docker through it`, where: f.file, fix: 'give it a network of its own with internal: true, joined only by its consumers' })
    }
  }
  return result(id, title, findings, mounts ? `mounted only by ${plural(proxies.size, 'socket proxy', 'socket proxies')}, read-only, on internal networks` : 'no service mounts the Docker socket')
}

export function backupCheck(_input: DoctorInput, l: Loaded): CheckResult {
  const id = 'backups'
  const title = 'backups'
  if (!l.registry) return { id, title, status: 'skip', summary: 'needs valid metadata', findings: [] }
  const findings: Finding[] = []
  let covered = 0
  for (const s of l.registry.services) {
    const volumes = namedVolumeKeys(s.raw.volumes)
    if (s.backup) {
      if (s.backup.method !== 'none') covered++
      continue
    }
    if (!volumes.length) continue
    const stack = l.registry.stacks.find((t) => t.name === s.stack)!
    findings.push({ status: 'warn', message: `${s.stack}/${s.name} keeps data in ${volumes.join(', ')} but declares no x-backup: tasks/backup.ts leaves it out`, where: stack.file, fix: 'declare x-backup (pg_dump, snapshot, volume, or none with a reason); see README "Operations"' })
  }
  return result(id, title, findings, `${plural(covered, 'stateful service')} declare how they are backed up`)
}

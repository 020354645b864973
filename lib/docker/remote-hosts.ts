// What a remote Docker engine (--context) cannot see: bind mounts. Compose resolves a relative bind source against the
// stack folder on this machine and hands the engine that absolute path, which the engine looks up on its own host.
// Pure: registry data in, findings out.
import { isAbsolute, resolve } from 'node:path'
import type { Registry, Service } from '../model/registry.ts'
import { serviceMounts } from '../model/volumes.ts'

export interface RemoteBind {
  /** stack/service */
  service: string
  source: string
  target: string
  /** the path the remote host must have */
  absolute: string
}

/**
 * Bind mounts of files from this checkout (relative sources: ./postgres/…, ../../caddy): on another host they resolve
 * to the same absolute path there, so the checkout (or those files) must be copied to that path. Absolute host paths
 * (/etc/os-release, /var/run/docker.sock) name the remote host's own files and are not listed.
 */
export function remoteBindMounts(registry: Pick<Registry, 'stack'>, services: readonly Service[]): RemoteBind[] {
  return services.flatMap((svc) =>
    serviceMounts(svc.raw.volumes)
      .filter((m) => m.type === 'bind' && m.source && !isAbsolute(m.source) && !m.source.startsWith('$') && !m.source.startsWith('~'))
      .map((m) => ({ service: `${svc.stack}/${svc.name}`, source: m.source, target: m.target, absolute: resolve(registry.stack(svc.stack).dir, m.source) })),
  )
}

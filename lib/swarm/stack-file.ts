// The swarm stack file of one stack, derived from Compose's resolved model (`docker compose config --format json`:
// env layers, profiles and overrides already applied, `$` already escaped as `$$`). Pure: no I/O, no env reads.
// Secret values never enter the file for variables the image reads from <VAR>_FILE (x-file-env); they become
// Docker secrets; read-only bind mounts of the checkout's files become Docker configs. What Swarm ignores (depends_on, container_name, profiles, restart) is removed or mapped.
import { createHash } from 'node:crypto'
import { stringify } from 'yaml'
import type { Stack } from '../model/registry.ts'
import { secretName, secretVariables, type EnvSecret, type SecretUse } from './secrets.ts'
import { configName, type CheckoutFile, type ConfigUse } from './configs.ts'
import { constraintsFor } from './placement.ts'

/** the label carrying a hash of each service's derived spec: equal hash, nothing to deploy */
export const SPEC_LABEL = 'io.stackyard.spec'
/** the label on everything Stackyard makes under swarm (secrets, configs, the shared network) */
export const MANAGED_LABEL = 'io.stackyard.managed'
/** the label naming the stack (compose project name) a secret or config belongs to */
export const STACK_LABEL = 'io.stackyard.stack'

export interface SwarmStackFile {
  doc: { version: string; services: Record<string, Record<string, unknown>>; networks?: Record<string, unknown>; volumes?: Record<string, unknown>; secrets?: Record<string, unknown>; configs?: Record<string, unknown> }
  secrets: SecretUse[]
  /** the checkout's files the services mount read-only, as Docker configs */
  configs: ConfigUse[]
  /** declared secrets that stay in a service's environment: its image reads them from nowhere else (or the value embeds one, e.g. a URL) */
  envSecrets: EnvSecret[]
  /** what Swarm cannot do that the compose model asked for (said once per run, not an error) */
  warnings: string[]
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v)

/** Go durations as Compose prints them ("1m30s", "500ms") in seconds; undefined when absent or unreadable */
export function seconds(d: unknown): number | undefined {
  if (typeof d !== 'string' || !d) return undefined
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 }
  let total = 0
  let seen = ''
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) { total += Number(m[1]) * unit[m[2]]; seen += m[0] }
  return seen === d ? total : undefined
}

/** keys kept as they are (the v3.9 stack-file schema's service keys Swarm acts on) */
const KEEP = ['cap_add', 'cap_drop', 'command', 'entrypoint', 'environment', 'expose', 'extra_hosts', 'hostname', 'image', 'init', 'labels', 'logging', 'read_only', 'stop_grace_period', 'stop_signal', 'sysctls', 'tmpfs', 'ulimits', 'user', 'working_dir', 'dns', 'dns_search']
/** keys Swarm does not use, removed without a word: ordering and naming are the engine's business there */
const DROP_QUIETLY = new Set(['depends_on', 'container_name', 'profiles', 'restart', 'pull_policy', 'networks', 'ports', 'volumes', 'healthcheck', 'deploy', 'secrets'])

function pick(o: Obj, keys: readonly string[]): Obj {
  const r: Obj = {}
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) r[k] = o[k]
  return r
}

export interface DeriveOptions {
  stack: Stack
  /** every declared secret key (registry.secrets) */
  secretKeys: ReadonlySet<string>
  /** a secret's current value (the env layers), for its content-hashed name */
  value(key: string): string | undefined
  /** the checkout's files a bind mount's source covers (configs.ts checkoutFiles); absent: every bind stays a bind */
  files?(source: string): CheckoutFile[] | 'outside' | 'unsupported'
  /** the host the stack is assigned to (placement.ts): its services run on the node labelled with it */
  host?: string
}

export function deriveStackFile(model: Obj, o: DeriveOptions): SwarmStackFile {
  const project = o.stack.project
  const warnings: string[] = []
  const services: Record<string, Obj> = {}
  const uses = new Map<string, SecretUse>()
  const configUses = new Map<string, ConfigUse>()
  const envSecrets: EnvSecret[] = []
  const topVolumes = isObj(model.volumes) ? model.volumes : {}
  /** compose keys docker stack deploy ignores, with the services that set them */
  const ignored = new Map<string, string[]>()
  for (const [name, svcModel] of Object.entries(isObj(model.services) ? model.services : {})) {
    if (!isObj(svcModel)) continue
    const declared = o.stack.services.find((s) => s.name === name)
    const svc: Obj = pick(svcModel, KEEP)
    for (const k of Object.keys(svcModel))
      if (!KEEP.includes(k) && !DROP_QUIETLY.has(k) && !k.startsWith('x-') && svcModel[k] !== null) ignored.set(k, [...(ignored.get(k) ?? []), name])
    // secrets: a declared secret in a variable the image reads from <VAR>_FILE becomes a Docker secret
    const env: Obj = isObj(svc.environment) ? { ...svc.environment } : {}
    const mounts: Obj[] = []
    for (const { variable, key, whole } of declared ? secretVariables(declared.raw, o.secretKeys) : []) {
      if (!(variable in env)) continue
      const value = o.value(key)
      if (whole && declared!.fileEnv.includes(variable) && value) {
        delete env[variable]
        env[`${variable}_FILE`] = `/run/secrets/${key}`
        const sname = secretName(project, key, value)
        const use = uses.get(key) ?? { key, name: sname, services: [] }
        use.services.push(name)
        uses.set(key, use)
        if (!mounts.some((m) => m.source === key)) mounts.push({ source: key, target: key })
      } else envSecrets.push({ service: name, variable, key })
    }
    if (Object.keys(env).length) svc.environment = env
    if (mounts.length) svc.secrets = mounts
    // networks: the keys, with aliases only
    if (isObj(svcModel.networks))
      svc.networks = Object.fromEntries(Object.entries(svcModel.networks).map(([k, v]) => [k, isObj(v) && Array.isArray(v.aliases) ? { aliases: v.aliases } : null]))
    // volumes: the long form the stack-file schema knows
    const volumes = Array.isArray(svcModel.volumes) ? (svcModel.volumes as Obj[]) : []
    // a read-only bind of the checkout's file or folder: one Docker config per file, at the same path; other binds
    // stay, said when writable (state of this node that a task on another node does not see)
    const configs: Obj[] = []
    const binds = volumes.filter((v) => {
      if (v.type !== 'bind' || typeof v.source !== 'string') return true
      const files = o.files?.(v.source) ?? 'outside'
      if (v.read_only && Array.isArray(files)) {
        if (!files.length) warnings.push(`${o.stack.name}/${name}: ${v.source} is missing or empty: nothing is mounted at ${v.target} under swarm`)
        for (const f of files) {
          const cname = configName(project, f.file, f.content)
          const use = configUses.get(cname) ?? { name: cname, file: f.file, content: f.content, services: [] }
          if (!use.services.includes(name)) use.services.push(name)
          configUses.set(cname, use)
          configs.push({ source: cname, target: f.path ? `${String(v.target).replace(/\/$/, '')}/${f.path}` : v.target, mode: f.mode })
        }
        return false
      }
      if (!v.read_only) warnings.push(`${o.stack.name}/${name}: ${v.source} is bind-mounted writable at ${v.target}: under swarm that is the folder of the node the task runs on (another node has its own, or none)`)
      else if (files === 'unsupported') warnings.push(`${o.stack.name}/${name}: ${v.source} stays a bind mount under swarm (it holds more than text files): other nodes need their own copy`)
      return true
    })
    if (configs.length) svc.configs = configs
    if (binds.length)
      svc.volumes = binds.map((v) => ({
        ...pick(v, ['type', 'source', 'target', 'read_only']),
        ...(isObj(v.bind) && v.bind.propagation ? { bind: { propagation: v.bind.propagation } } : {}),
        ...(isObj(v.volume) && v.volume.nocopy ? { volume: { nocopy: true } } : {}),
        ...(isObj(v.tmpfs) && v.tmpfs.size ? { tmpfs: { size: v.tmpfs.size } } : {}),
      }))
    // ports: Swarm cannot bind one address; host mode publishes on the node that runs the task
    const ports = Array.isArray(svcModel.ports) ? (svcModel.ports as Obj[]) : []
    if (ports.length) {
      svc.ports = ports.map((p) => ({ target: Number(p.target), ...(p.published !== undefined && p.published !== '' ? { published: Number(p.published) } : {}), protocol: p.protocol ?? 'tcp', mode: 'host' }))
      const ips = [...new Set(ports.map((p) => p.host_ip).filter((ip) => typeof ip === 'string' && ip !== '' && ip !== '0.0.0.0'))]
      if (ips.length) warnings.push(`${o.stack.name}/${name}: ports ${ports.map((p) => p.published).join(', ')} are published on every address of the node that runs it: Swarm cannot bind ${ips.join(', ')} (LOCAL_BIND_ADDRESS)`)
    }
    const hc = isObj(svcModel.healthcheck) ? pick(svcModel.healthcheck, ['test', 'interval', 'timeout', 'retries', 'start_period', 'disable']) : undefined
    if (hc && Object.keys(hc).length) svc.healthcheck = hc
    // deploy: restart, health-gated rolling update with automatic rollback; two copies only without state or host ports
    const stateful = volumes.some((v) => v.type === 'volume') || ports.length > 0
    const order = stateful ? 'stop-first' : 'start-first'
    // a new task counts as running only once healthy (a failing check fails the update before that); the monitor
    // window then watches for an early crash: two check intervals, 5–30 s
    const monitor = Math.min(30, Math.max(5, Math.ceil(2 * (seconds(hc?.interval) ?? 10))))
    const restart = String(svcModel.restart ?? 'unless-stopped')
    const given = isObj(svcModel.deploy) ? svcModel.deploy : {}
    if (isObj(given.resources) && JSON.stringify(given.resources).includes('"devices"'))
      warnings.push(`${o.stack.name}/${name}: device reservations (GPUs) are not applied under swarm`)
    svc.deploy = {
      mode: 'replicated',
      replicas: 1,
      // the service name resolves to its tasks' addresses: no virtual IP, which needs IPVS in the kernel (absent on
      // some hosts: connections to a VIP fail with "no route to host"); ports are host mode, which dnsrr allows
      endpoint_mode: 'dnsrr',
      restart_policy: { condition: restart === 'no' ? 'none' : restart.startsWith('on-failure') ? 'on-failure' : 'any', delay: '5s', window: '30s' },
      update_config: { parallelism: 1, failure_action: 'rollback', monitor: `${monitor}s`, order },
      rollback_config: { parallelism: 1, failure_action: 'pause', monitor: `${monitor}s`, order },
    }
    // placement: the stack's host, or for a named volume the manager (placement.ts)
    const constraints = constraintsFor(o.host, volumes.some((v) => v.type === 'volume' && v.source))
    if (constraints.length) (svc.deploy as Obj).placement = { constraints }
    const spec = createHash('sha256').update(JSON.stringify({ svc, secrets: mounts.map((m) => uses.get(String(m.source))!.name) })).digest('hex').slice(0, 16)
    ;(svc.deploy as Obj).labels = { [SPEC_LABEL]: spec }
    services[name] = svc
  }
  for (const [k, names] of ignored) warnings.unshift(`${o.stack.name}: ${k} is not applied under swarm (docker stack deploy ignores it): ${names.join(', ')}`)
  const doc: SwarmStackFile['doc'] = { version: '3.9', services }
  const networks = isObj(model.networks) ? model.networks : {}
  if (Object.keys(networks).length)
    doc.networks = Object.fromEntries(Object.entries(networks).map(([k, n]) => {
      const net = isObj(n) ? n : {}
      return [k, net.external ? { external: true, name: net.name ?? k } : { ...pick(net, ['name', 'internal', 'attachable', 'labels']), driver: 'overlay' }]
    }))
  if (Object.keys(topVolumes).length)
    doc.volumes = Object.fromEntries(Object.entries(topVolumes).map(([k, v]) => [k, isObj(v) ? pick(v, ['name', 'external', 'driver', 'driver_opts', 'labels']) : {}]))
  const secrets = [...uses.values()]
  if (secrets.length) doc.secrets = Object.fromEntries(secrets.map((s) => [s.key, { external: true, name: s.name }]))
  const configs = [...configUses.values()]
  if (configs.length) doc.configs = Object.fromEntries(configs.map((c) => [c.name, { external: true, name: c.name }]))
  return { doc, secrets, configs, envSecrets, warnings }
}

/** the file as `docker stack deploy -c -` reads it; `mask` replaces the environment values of secrets kept there */
export function renderStackFile(f: SwarmStackFile, o: { mask?: boolean } = {}): string {
  if (!o.mask || !f.envSecrets.length) return stringify(f.doc)
  const doc = structuredClone(f.doc)
  for (const e of f.envSecrets) {
    const env = doc.services[e.service]?.environment
    if (isObj(env) && e.variable in env) env[e.variable] = '••••'
  }
  return stringify(doc)
}

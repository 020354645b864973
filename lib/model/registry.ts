// The stack registry: reads compose/NN-name/ folders and their x- metadata into one validated model.
// Compose files are the single source of truth; everything else (Caddy, tunnel, DNS, Access, secrets,
// checks, compose invocations) is derived from what this returns. Reads files; never writes.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml'
import { readYamlFile } from '../core/yaml-file.ts'
import type { z } from 'zod'
import { ConfigError, UsageError } from '../core/errors.ts'
import { templateVariables } from '../env/dotenv.ts'
import { namedVolumeKeys } from './volumes.ts'
import { envNamePart } from '../core/format.ts'
import {
  BackupSpec,
  ComposeDoc,
  ComposeOverrideDoc,
  ProxyFlag,
  RouteSpec,
  SecretSpec,
  SocketProxyFlag,
  FileEnvSpec,
  StackMeta,
  ENVIRONMENTS,
  ENV_NAME,
  HARDWARE_PROFILES,
  formatIssues,
  type Environment,
} from './x-fields.ts'

export const STACK_DIR = 'compose'
export const BASE_FILE = 'docker-compose.yml'
export const overrideFile = (env: Environment) => `docker-compose.override.${env}.yml`
const FOLDER = /^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$/

export interface SecretDecl {
  key: string
  stack: string
  /** compose file that declares it, relative to the repo root */
  file: string
  spec: SecretSpec
}

export interface Route extends RouteSpec {
  service: string
  stack: string
  /** the variable that receives the service's external URL */
  urlEnv: string
}

export interface Service {
  name: string
  stack: string
  image?: string
  profiles: string[]
  route?: Route
  proxy: boolean
  /** x-backup: how its state is backed up (undefined: not declared) */
  backup?: BackupSpec
  /** x-socket-proxy: the service proxies the Docker socket to other services (the only kind allowed to mount it) */
  socketProxy?: boolean
  /** x-file-env: variables the image also reads from `<VAR>_FILE` (the swarm engine mounts secrets for them) */
  fileEnv: string[]
  /** the service as written in the base compose file (merged view is Compose's job) */
  raw: Record<string, unknown>
}

export interface ComposeVariable {
  name: string
  hasDefault: boolean
  required: boolean
  /** `${V:?}`: an empty value fails too */
  nonEmpty?: boolean
  /** compose file, relative to the repo root */
  file: string
  /** YAML path of the value, e.g. services.caddy.environment.DOMAIN */
  path: string
}

export interface Stack {
  /** short name used by --stack, e.g. "infrastructure" */
  name: string
  /** folder name, e.g. "00-infrastructure" */
  folder: string
  /** absolute path of the stack folder; relative paths in its compose files resolve from here */
  dir: string
  order: number
  /** compose project name (top-level `name:`), stable forever: volume and container names hang on it */
  project: string
  description: string
  after: string[]
  autoProfiles: Record<string, string>
  /** base compose file, relative to the repo root */
  file: string
  /** environment overrides present, relative to the repo root */
  overrides: Partial<Record<Environment, string>>
  services: Service[]
  secrets: SecretDecl[]
  /** every compose profile any service of this stack uses */
  profiles: string[]
}

export interface Registry {
  root: string
  stacks: Stack[]
  services: Service[]
  routes: Route[]
  secrets: Map<string, SecretDecl>
  variables: ComposeVariable[]
  proxy?: Service
  /** resolve --stack names ("apps", "03-apps"); throws UsageError listing the valid names */
  stack(name: string): Stack
  /** the stacks a selection needs, dependencies first ("all" = every stack) */
  select(names: readonly string[]): Stack[]
}

interface Loaded {
  doc: Document
  lines: LineCounter
  file: string
  data: unknown
}

function loadYaml(root: string, abs: string): Loaded {
  const file = relative(root, abs)
  return { ...readYamlFile(abs, file), file }
}

function lineOf(l: Loaded, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = l.doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined
    if (node && typeof node === 'object' && 'range' in node && node.range) return l.lines.linePos(node.range[0]).line
  }
  return undefined
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, l: Loaded, path: (string | number)[]): z.infer<S> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const full = [...path, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))]
  const line = lineOf(l, full)
  const lines = formatIssues(r.error, path)
  throw new ConfigError(`${l.file}${line ? `:${line}` : ''}: ${lines.join('; ')}`, {
    file: l.file,
    line,
    field: full.join('.'),
    hint: 'fix the x- metadata; the README section "Compose metadata" lists every field',
  })
}

export interface LoadRegistryOptions {
  /** load even when two routes claim one local_port (doctor reports each clash among its findings) */
  allowPortClashes?: boolean
}

export function loadRegistry(root: string, opts: LoadRegistryOptions = {}): Registry {
  const composeDir = join(root, STACK_DIR)
  if (!existsSync(composeDir)) throw new ConfigError(`no ${STACK_DIR}/ folder in ${root}`, { hint: 'run Stackyard from its repository' })
  const folders = readdirSync(composeDir).filter((n) => statSync(join(composeDir, n)).isDirectory()).sort()
  const stacks: Stack[] = []
  const secrets = new Map<string, SecretDecl>()
  const variables: ComposeVariable[] = []
  const projects = new Map<string, string>()
  const serviceOwner = new Map<string, string>()
  /** each route's local_port and where it is written */
  const portClaims: Array<{ service: Service; port: number; file: string; line?: number }> = []

  for (const folder of folders) {
    const m = FOLDER.exec(folder)
    if (!m) throw new ConfigError(`${STACK_DIR}/${folder}: a stack folder is named NN-name (e.g. 03-apps)`, { file: `${STACK_DIR}/${folder}`, hint: 'rename the folder, or move it out of compose/' })
    const dir = join(composeDir, folder)
    const basePath = join(dir, BASE_FILE)
    if (!existsSync(basePath)) throw new ConfigError(`${STACK_DIR}/${folder} has no ${BASE_FILE}`, { file: `${STACK_DIR}/${folder}`, hint: `add ${BASE_FILE} or remove the folder` })
    const base = loadYaml(root, basePath)
    const doc = parseWith(ComposeDoc, base.data, base, [])
    const meta = parseWith(StackMeta, (base.data as Record<string, unknown>)['x-stackyard'] ?? undefined, base, ['x-stackyard'])
    const name = m[2]
    const prior = projects.get(doc.name)
    if (prior) throw new ConfigError(`${base.file}: project name "${doc.name}" is already used by ${prior}`, { file: base.file, field: 'name', hint: 'every stack needs its own compose project name' })
    projects.set(doc.name, base.file)

    const overrides: Stack['overrides'] = {}
    const loadedOverrides: Loaded[] = []
    for (const env of ENVIRONMENTS) {
      const p = join(dir, overrideFile(env))
      if (!existsSync(p)) continue
      const o = loadYaml(root, p)
      parseWith(ComposeOverrideDoc, o.data ?? {}, o, [])
      for (const [svc, def] of Object.entries(((o.data ?? {}) as { services?: Record<string, Record<string, unknown>> }).services ?? {}))
        for (const k of Object.keys(def ?? {}))
          if (k.startsWith('x-')) throw new ConfigError(`${o.file}: services.${svc}.${k}: Stackyard metadata belongs in ${BASE_FILE} only`, { file: o.file, line: lineOf(o, ['services', svc, k]), hint: `move ${k} to ${STACK_DIR}/${folder}/${BASE_FILE}` })
      overrides[env] = o.file
      loadedOverrides.push(o)
    }

    const services: Service[] = []
    const profiles = new Set<string>()
    for (const [svcName, raw] of Object.entries(doc.services)) {
      const owner = serviceOwner.get(svcName)
      if (owner) throw new ConfigError(`${base.file}: service "${svcName}" is also defined in ${owner}`, { file: base.file, line: lineOf(base, ['services', svcName]), hint: 'service names are container host names on the shared network: keep them unique' })
      serviceOwner.set(svcName, base.file)
      const route = raw['x-route'] === undefined ? undefined : parseWith(RouteSpec, raw['x-route'], base, ['services', svcName, 'x-route'])
      const proxy = raw['x-proxy'] === undefined ? false : parseWith(ProxyFlag, raw['x-proxy'], base, ['services', svcName, 'x-proxy'])
      const backup = raw['x-backup'] === undefined ? undefined : parseWith(BackupSpec, raw['x-backup'], base, ['services', svcName, 'x-backup'])
      const socketProxy = raw['x-socket-proxy'] === undefined ? false : parseWith(SocketProxyFlag, raw['x-socket-proxy'], base, ['services', svcName, 'x-socket-proxy'])
      const fileEnv = raw['x-file-env'] === undefined ? [] : parseWith(FileEnvSpec, raw['x-file-env'], base, ['services', svcName, 'x-file-env'])
      const envKeys = Array.isArray(raw.environment) ? raw.environment.map((e) => String(e).split('=')[0]) : Object.keys((raw.environment ?? {}) as object)
      for (const v of fileEnv)
        if (!envKeys.includes(v)) throw new ConfigError(`${base.file}: services.${svcName}.x-file-env: "${v}" is not in the service's environment`, { file: base.file, line: lineOf(base, ['services', svcName, 'x-file-env']), field: `services.${svcName}.x-file-env`, hint: 'list variables of its environment: whose image also reads <VAR>_FILE' })
      const mounted = namedVolumeKeys(raw.volumes)
      for (const v of backup?.method === 'volume' ? (backup.volumes ?? []) : backup?.method === 'snapshot' ? [backup.volume] : [])
        if (!mounted.includes(v)) throw new ConfigError(`${base.file}: services.${svcName}.x-backup: "${v}" is not a named volume this service mounts (${mounted.join(', ') || 'none'})`, { file: base.file, line: lineOf(base, ['services', svcName, 'x-backup']), field: `services.${svcName}.x-backup`, hint: 'name a volume from its volumes: list' })
      if (backup?.method === 'volume' && !backup.volumes && !mounted.length) throw new ConfigError(`${base.file}: services.${svcName}.x-backup: method volume, but the service mounts no named volume`, { file: base.file, line: lineOf(base, ['services', svcName, 'x-backup']), hint: 'mount a named volume, or use method: none with a reason' })
      for (const k of Object.keys(raw))
        if (k.startsWith('x-') && !KNOWN_SERVICE_EXTENSIONS.has(k))
          throw new ConfigError(`${base.file}: services.${svcName}.${k}: unknown Stackyard field`, { file: base.file, line: lineOf(base, ['services', svcName, k]), field: `services.${svcName}.${k}`, hint: `known fields: ${[...KNOWN_SERVICE_EXTENSIONS].join(', ')}` })
      const svcProfiles = Array.isArray(raw.profiles) ? raw.profiles.map(String) : []
      svcProfiles.forEach((p) => profiles.add(p))
      services.push({
        name: svcName,
        stack: name,
        image: typeof raw.image === 'string' ? raw.image : undefined,
        profiles: svcProfiles,
        route: route && { ...route, service: svcName, stack: name, urlEnv: route.url_env ?? `${envNamePart(svcName)}_URL` },
        proxy,
        ...(backup ? { backup } : {}),
        socketProxy,
        fileEnv,
        raw,
      })
      if (route) portClaims.push({ service: services[services.length - 1], port: route.local_port, file: base.file, line: lineOf(base, ['services', svcName, 'x-route', 'local_port']) })
    }

    const stackSecrets: SecretDecl[] = []
    const xs = (base.data as Record<string, unknown>)['x-secrets']
    if (xs !== undefined) {
      if (!xs || typeof xs !== 'object' || Array.isArray(xs)) throw new ConfigError(`${base.file}: x-secrets must be a map of VARIABLE: {format, …}`, { file: base.file, line: lineOf(base, ['x-secrets']) })
      for (const [key, spec] of Object.entries(xs)) {
        if (!ENV_NAME.test(key)) throw new ConfigError(`${base.file}: x-secrets.${key}: not a variable name`, { file: base.file, line: lineOf(base, ['x-secrets', key]) })
        const parsed = parseWith(SecretSpec, spec, base, ['x-secrets', key])
        const dup = secrets.get(key)
        if (dup) throw new ConfigError(`${base.file}: x-secrets.${key} is already declared in ${dup.file}`, { file: base.file, line: lineOf(base, ['x-secrets', key]), hint: 'declare each secret once, in the stack that owns it' })
        const decl = { key, stack: name, file: base.file, spec: parsed }
        secrets.set(key, decl)
        stackSecrets.push(decl)
      }
    }
    for (const l of [base, ...loadedOverrides]) collectVariables(l, variables)

    stacks.push({
      name,
      folder,
      dir,
      order: Number(m[1]),
      project: doc.name,
      description: meta.description,
      after: meta.after,
      autoProfiles: meta.auto_profiles,
      file: base.file,
      overrides,
      services,
      secrets: stackSecrets,
      profiles: [...profiles].sort(),
    })
  }

  const names = new Set<string>()
  for (const s of stacks) {
    if (names.has(s.name)) throw new ConfigError(`two stack folders are both named "${s.name}"`, { file: s.file, hint: 'stack names (the part after NN-) must be unique' })
    names.add(s.name)
  }
  for (const s of stacks) {
    for (const a of s.after) {
      if (!names.has(a)) throw new ConfigError(`${s.file}: x-stackyard.after: unknown stack "${a}"`, { file: s.file, field: 'x-stackyard.after', hint: `known stacks: ${[...names].join(', ')}` })
      if (a === s.name) throw new ConfigError(`${s.file}: x-stackyard.after: a stack cannot start after itself`, { file: s.file })
    }
  }
  assertAcyclic(stacks)
  for (const d of secrets.values())
    if (d.spec.format === 'jwt' && !secrets.has(d.spec.secret))
      throw new ConfigError(`${d.file}: x-secrets.${d.key}.secret: "${d.spec.secret}" is not a declared secret`, { file: d.file, hint: 'a JWT is signed with another declared secret' })
  for (const d of secrets.values()) {
    const check = d.spec.check
    const stack = stacks.find((s) => s.name === d.stack)!
    if (check && !stack.services.some((s) => s.name === check.service))
      throw new ConfigError(`${d.file}: x-secrets.${d.key}.check.service: "${check.service}" is not a service of this stack`, { file: d.file, hint: `one of: ${stack.services.map((s) => s.name).join(', ')}` })
  }

  if (!opts.allowPortClashes) assertDistinctPorts(portClaims)

  const services = stacks.flatMap((s) => s.services)
  const proxies = services.filter((s) => s.proxy)
  if (proxies.length > 1) throw new ConfigError(`more than one service has x-proxy: ${proxies.map((p) => p.name).join(', ')}`, { hint: 'exactly one service (Caddy) is the proxy' })
  const routes = services.flatMap((s) => (s.route ? [s.route] : []))
  const byName = new Map(stacks.map((s) => [s.name, s]))

  const registry: Registry = {
    root,
    stacks,
    services,
    routes,
    secrets,
    variables,
    proxy: proxies[0],
    stack(name) {
      const s = byName.get(name) ?? stacks.find((t) => t.folder === name || t.project === name)
      if (!s) throw new UsageError(`unknown stack "${name}"`, { hint: `stacks: ${stacks.map((t) => t.name).join(', ')} (or all)` })
      return s
    },
    select(names) {
      const wanted = names.length === 0 || names.includes('all') ? stacks : names.map((n) => registry.stack(n))
      const out = new Set<Stack>()
      const visit = (s: Stack) => {
        if (out.has(s)) return
        s.after.forEach((a) => visit(byName.get(a)!))
        out.add(s)
      }
      wanted.forEach(visit)
      return stacks.filter((s) => out.has(s))
    },
  }
  return registry
}

const KNOWN_SERVICE_EXTENSIONS = new Set(['x-route', 'x-proxy', 'x-backup', 'x-socket-proxy', 'x-file-env'])

/** Two routes may share a local_port only as hardware variants of one service (at most one of them runs). */
function assertDistinctPorts(claims: Array<{ service: Service; port: number; file: string; line?: number }>): void {
  const at = (c: { file: string; line?: number }) => `${c.file}${c.line ? `:${c.line}` : ''}`
  for (const [i, b] of claims.entries()) {
    const a = claims.slice(0, i).find((c) => c.port === b.port && !hardwareVariants(c.service, b.service))
    if (a)
      throw new ConfigError(`${at(b)}: services.${b.service.name}.x-route.local_port: ${b.port} is already claimed by services.${a.service.name}.x-route.local_port (${at(a)})`, {
        file: b.file,
        line: b.line,
        field: `services.${b.service.name}.x-route.local_port`,
        hint: 'give each x-route its own local_port (two hardware variants of one service, e.g. ollama-cpu and ollama-gpu-nvidia, may share one)',
      })
  }
}

function assertAcyclic(stacks: Stack[]): void {
  const byName = new Map(stacks.map((s) => [s.name, s]))
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (s: Stack, path: string[]) => {
    if (state.get(s.name) === 'done') return
    if (state.get(s.name) === 'visiting') throw new ConfigError(`x-stackyard.after forms a cycle: ${[...path, s.name].join(' → ')}`, { file: s.file, hint: 'remove one of the after: entries' })
    state.set(s.name, 'visiting')
    for (const a of s.after) visit(byName.get(a)!, [...path, s.name])
    state.set(s.name, 'done')
  }
  stacks.forEach((s) => visit(s, []))
}

/** Every `${VAR}` referenced by string values of a compose document (keys are not interpolated). */
function collectVariables(l: Loaded, into: ComposeVariable[]): void {
  const walk = (node: unknown, path: string[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
        walk(pair.value, [...path, key])
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, String(i)]))
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
      let vars
      try {
        vars = templateVariables(node.value)
      } catch (err) {
        const line = node.range ? l.lines.linePos(node.range[0]).line : undefined
        throw new ConfigError(`${l.file}${line ? `:${line}` : ''}: ${path.join('.')}: ${(err as Error).message}`, { file: l.file, line, hint: 'write a literal $ as $$ in compose files' })
      }
      for (const v of vars) into.push({ ...v, file: l.file, path: path.join('.') })
    }
  }
  walk(l.doc.contents, [])
}

/**
 * Hardware variants: two services of one stack that each run only under hardware profiles (cpu, gpu-nvidia,
 * gpu-amd) and share none, e.g. ollama-cpu and ollama-gpu-nvidia. STACKYARD_PROFILE picks one hardware profile,
 * so at most one of them runs: they may declare the same route (subdomain and local port).
 */
export function hardwareVariants(a: Service, b: Service): boolean {
  const hardware = (s: Service) => s.profiles.length > 0 && s.profiles.every((p) => (HARDWARE_PROFILES as readonly string[]).includes(p) && p !== 'none')
  return a !== b && a.stack === b.stack && hardware(a) && hardware(b) && !a.profiles.some((p) => b.profiles.includes(p))
}

// Where a stack's services may run under swarm, from the declarations the compose engine's contexts use: a stack
// assigned to host NAME (STACKYARD_HOST_<NAME>_STACKS, NAME listed in STACKYARD_CONTEXTS) is constrained to the node
// labelled io.stackyard.host=NAME; a stateful service (one with a named volume) of an unassigned stack is pinned to
// the manager, so a restart never lands on a node with an empty volume. Pure: env values and the registry in.
import { ConfigError } from '../core/errors.ts'
import { commaList, envNamePart } from '../core/format.ts'
import { configuredContexts, DEFAULT_CONTEXT, hostStacksVariable, hostVariable } from '../core/docker-context.ts'
import type { Registry, Service } from '../model/registry.ts'
import { serviceMounts } from '../model/volumes.ts'

/** the node label naming the host (Docker context name) a node is: `docker node update --label-add io.stackyard.host=edge-1` */
export const HOST_LABEL = 'io.stackyard.host'
/** where a stateful service of a stack assigned to no host is pinned */
export const MANAGER_CONSTRAINT = 'node.role == manager'

/** the constraint of a stack assigned to `host` */
export const hostConstraint = (host: string) => `node.labels.${HOST_LABEL} == ${host}`

/** the host a constraint names (node.labels.io.stackyard.host == NAME), else undefined */
export function constraintHost(c: string): string | undefined {
  const m = new RegExp(`^node\\.labels\\.${HOST_LABEL.replace(/\./g, '\\.')}\\s*==\\s*(\\S+)$`).exec(c.trim())
  return m?.[1]
}

/**
 * The placement constraints of one service: its stack's host label when the stack is assigned, else the manager for a
 * stateful service, else none (the swarm places it).
 */
export function constraintsFor(host: string | undefined, stateful: boolean): string[] {
  return host ? [hostConstraint(host)] : stateful ? [MANAGER_CONSTRAINT] : []
}

/** a service with a named volume (its data lives on one node's disk) */
export function isStateful(svc: Pick<Service, 'raw'>): boolean {
  return serviceMounts(svc.raw.volumes).some((m) => m.type === 'volume' && m.source !== '')
}

export interface HostAssignment {
  /** stack name → host */
  stacks: Map<string, string>
  /** host → the variable that assigned it stacks */
  variables: Map<string, string>
  /** host → the node it is, when set (STACKYARD_HOST_<NAME>_NODE: a node's hostname or ID) */
  nodes: Map<string, string>
}

/** The variable naming the node a host is: edge-1 → STACKYARD_HOST_EDGE_1_NODE. */
export const hostNodeVariable = (host: string) => hostVariable(host, 'NODE')

/**
 * The hosts the settings assign stacks to, under swarm: every context of STACKYARD_CONTEXTS with
 * STACKYARD_HOST_<NAME>_STACKS set. A configuration error when a stack is assigned to two hosts (one swarm service
 * runs once), when a host variable names a host STACKYARD_CONTEXTS does not list (its name, which becomes the label
 * value, cannot be read back from the variable), or names an unknown stack.
 */
export function hostAssignment(values: Record<string, string | undefined>, registry: Pick<Registry, 'stacks'>): HostAssignment {
  const contexts = configuredContexts(values)
  const stacks = new Map<string, string>()
  const variables = new Map<string, string>()
  const nodes = new Map<string, string>()
  const known = new Set(contexts.map((c) => envNamePart(c)))
  for (const key of Object.keys(values).sort()) {
    const m = /^STACKYARD_HOST_(.+)_(STACKS|NODE)$/.exec(key)
    if (m && values[key] !== undefined && !known.has(m[1]) && !(m[1] === envNamePart(DEFAULT_CONTEXT)))
      throw new ConfigError(`${key}: under swarm a host's name becomes a node label, and no context of STACKYARD_CONTEXTS is called ${m[1]}`, { field: key, hint: 'list the host in STACKYARD_CONTEXTS (e.g. STACKYARD_CONTEXTS=default,edge-1 for STACKYARD_HOST_EDGE_1_STACKS)' })
  }
  for (const host of new Set([...contexts, DEFAULT_CONTEXT])) {
    const node = values[hostNodeVariable(host)]
    if (node) nodes.set(host, node.trim())
    const variable = hostStacksVariable(host)
    const raw = values[variable]
    if (raw === undefined) continue
    for (const name of commaList(raw)) {
      const stack = registry.stacks.find((s) => s.name === name || s.folder === name)
      if (!stack) throw new ConfigError(`${variable}: unknown stack "${name}"`, { field: variable, hint: `stacks: ${registry.stacks.map((s) => s.name).join(', ')}` })
      const other = stacks.get(stack.name)
      if (other && other !== host)
        throw new ConfigError(`${stack.name} is assigned to ${other} (${variables.get(other)}) and to ${host} (${variable}): under swarm a stack runs once, on one host`, { field: variable, hint: 'assign each stack to one host; a proxy for another host is a second installation' })
      stacks.set(stack.name, host)
      variables.set(host, variable)
    }
  }
  return { stacks, variables, nodes }
}

export interface PinnedService {
  stack: string
  service: string
  /** the host whose node holds its volume; undefined: the manager */
  host?: string
  constraint: string
}

/** The stateful services of these stacks and where each is pinned (doctor says it; up checks it can be met). */
export function pinnedServices(stacks: Registry['stacks'], a: Pick<HostAssignment, 'stacks'>): PinnedService[] {
  return stacks.flatMap((stack) =>
    stack.services.filter(isStateful).map((svc) => {
      const host = a.stacks.get(stack.name)
      return { stack: stack.name, service: svc.name, ...(host ? { host } : {}), constraint: constraintsFor(host, true)[0] }
    }),
  )
}

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadRegistry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'
import { ConfigError } from '../core/errors.ts'
import { deriveStackFile } from './stack-file.ts'
import { constraintHost, constraintsFor, hostAssignment, HOST_LABEL, isStateful, MANAGER_CONSTRAINT, pinnedServices } from './placement.ts'
import { labelArgs, nodeOfHost, planLabels, unmetConstraints, type SwarmNode } from './nodes.ts'
import { placementCheck } from './placement-report.ts'
import { placementWait } from './status.ts'

const registry = loadRegistry(repoRoot)

const model = () => ({
  services: {
    postgres: { image: 'p', volumes: [{ type: 'volume', source: 'postgres-data', target: '/var/lib/postgresql/data' }, { type: 'bind', source: '/x', target: '/y' }] },
    web: { image: 'w', volumes: [{ type: 'bind', source: '/x', target: '/y' }, { type: 'volume', target: '/anon' }] },
  },
  volumes: { 'postgres-data': { name: 'stackyard-postgres-data' } },
})
const derive = (host?: string) => deriveStackFile(model(), { stack: registry.stack('data'), secretKeys: new Set(), value: () => undefined, host })
const placement = (svc: Record<string, unknown>) => (svc.deploy as { placement?: { constraints: string[] } }).placement

const node = (id: string, hostname: string, o: Partial<SwarmNode> = {}): SwarmNode => ({ id, hostname, role: 'worker', availability: 'active', state: 'ready', labels: {}, self: false, ...o })

test('a stack assigned to a host: every service constrained to the node carrying its host label; the spec hash follows', () => {
  const f = derive('edge-1')
  assert.deepEqual(placement(f.doc.services.postgres), { constraints: ['node.labels.io.stackyard.host == edge-1'] })
  assert.deepEqual(placement(f.doc.services.web), { constraints: ['node.labels.io.stackyard.host == edge-1'] })
  const spec = (x: ReturnType<typeof derive>) => (x.doc.services.web.deploy as { labels: Record<string, string> }).labels['io.stackyard.spec']
  assert.notEqual(spec(f), spec(derive('edge-2')), 'a moved stack is deployed again')
  assert.equal(constraintHost('node.labels.io.stackyard.host == edge-1'), 'edge-1')
  assert.equal(constraintHost(MANAGER_CONSTRAINT), undefined)
})

test('unassigned: a service with a named volume is pinned to the manager, one without (binds, an anonymous volume) is placed freely', () => {
  const f = derive()
  assert.deepEqual(placement(f.doc.services.postgres), { constraints: [MANAGER_CONSTRAINT] })
  assert.equal(placement(f.doc.services.web), undefined)
  assert.deepEqual(constraintsFor(undefined, false), [])
  assert.ok(isStateful(registry.stack('data').services.find((s) => s.name === 'postgres')!), 'the shared PostgreSQL keeps its data in a named volume')
})

test('hostAssignment reads STACKYARD_HOST_<NAME>_STACKS of the contexts of STACKYARD_CONTEXTS, and _NODE', () => {
  const a = hostAssignment({ STACKYARD_CONTEXTS: 'default,edge-1', STACKYARD_HOST_EDGE_1_STACKS: 'data, 00-infrastructure', STACKYARD_HOST_EDGE_1_NODE: 'pi4', STACKYARD_HOST_EDGE_1_PROFILES: 'x' }, registry)
  assert.deepEqual([...a.stacks], [['data', 'edge-1'], ['infrastructure', 'edge-1']])
  assert.deepEqual([...a.nodes], [['edge-1', 'pi4']])
  assert.equal(a.variables.get('edge-1'), 'STACKYARD_HOST_EDGE_1_STACKS')
  // default needs no listing: Docker's name for the engine Stackyard talks to
  assert.deepEqual([...hostAssignment({ STACKYARD_HOST_DEFAULT_STACKS: 'data' }, registry).stacks], [['data', 'default']])
  assert.equal(hostAssignment({}, registry).stacks.size, 0)
})

test('hostAssignment refuses a stack on two hosts, a host variable of no listed context, an unknown stack (configuration errors)', () => {
  assert.throws(() => hostAssignment({ STACKYARD_CONTEXTS: 'a,b', STACKYARD_HOST_A_STACKS: 'data', STACKYARD_HOST_B_STACKS: 'data' }, registry), (e: Error) => e instanceof ConfigError && /data is assigned to a \(STACKYARD_HOST_A_STACKS\) and to b \(STACKYARD_HOST_B_STACKS\): under swarm a stack runs once/.test(e.message))
  assert.throws(() => hostAssignment({ STACKYARD_HOST_EDGE_1_STACKS: 'data' }, registry), (e: Error) => e instanceof ConfigError && /no context of STACKYARD_CONTEXTS is called EDGE_1/.test(e.message))
  assert.throws(() => hostAssignment({ STACKYARD_CONTEXTS: 'e', STACKYARD_HOST_E_STACKS: 'nope' }, registry), /unknown stack "nope"/)
})

test('pinnedServices: each stateful service of the stacks with its host, or the manager', () => {
  const a = hostAssignment({ STACKYARD_CONTEXTS: 'edge-1', STACKYARD_HOST_EDGE_1_STACKS: 'data' }, registry)
  const pinned = pinnedServices([registry.stack('data'), registry.stack('infrastructure')], a)
  assert.deepEqual(pinned.find((p) => p.service === 'postgres'), { stack: 'data', service: 'postgres', host: 'edge-1', constraint: 'node.labels.io.stackyard.host == edge-1' })
  assert.ok(pinned.filter((p) => p.stack === 'infrastructure').every((p) => !p.host && p.constraint === MANAGER_CONSTRAINT))
  assert.deepEqual(pinned.filter((p) => p.stack === 'infrastructure').map((p) => p.service), ['caddy', 'valkey', 'infisical-db', 'infisical-redis'], 'the services with a named volume')
})

test('nodeOfHost: the _NODE setting (hostname, ID or ID prefix), else the hostname, else for default this engine', () => {
  const nodes = [node('aaaaaaaaaaaa1', 'mgr', { role: 'manager', self: true }), node('bbbbbbbbbbbb2', 'edge-1'), node('cccccccccccc3', 'pi4')]
  assert.equal(nodeOfHost(nodes, 'edge-1', undefined).node?.hostname, 'edge-1')
  assert.equal(nodeOfHost(nodes, 'edge-1', 'pi4').node?.hostname, 'pi4')
  assert.equal(nodeOfHost(nodes, 'edge-1', 'cccccc').node?.hostname, 'pi4')
  assert.equal(nodeOfHost(nodes, 'default', undefined).node?.hostname, 'mgr')
  assert.match(nodeOfHost(nodes, 'edge-2', undefined).why, /no node has the hostname edge-2: set STACKYARD_HOST_EDGE_2_NODE/)
  assert.match(nodeOfHost(nodes, 'edge-1', 'gone').why, /STACKYARD_HOST_EDGE_1_NODE="gone" names no node/)
  assert.match(nodeOfHost([node('x1', 'same'), node('x2', 'same')], 'same', undefined).why, /2 nodes have the hostname same/)
})

test('planLabels adds each host label on its node, removes it from any other node, and converges to no change', () => {
  const a = hostAssignment({ STACKYARD_CONTEXTS: 'default,edge-1', STACKYARD_HOST_DEFAULT_STACKS: 'infrastructure', STACKYARD_HOST_EDGE_1_STACKS: 'data' }, registry)
  const nodes = [node('m1', 'mgr', { role: 'manager', self: true, labels: { [HOST_LABEL]: 'edge-1' } }), node('w1', 'edge-1')]
  const plan = planLabels(nodes, a)
  assert.deepEqual(plan.problems, [])
  assert.deepEqual(plan.changes.map(labelArgs), [
    ['node', 'update', '--label-add', 'io.stackyard.host=default', 'm1'],
    ['node', 'update', '--label-add', 'io.stackyard.host=edge-1', 'w1'],
  ], 'an add replaces a stale value')
  // the label of a host on a node that is not that host's: removed; a label of a host the settings do not name: left
  const extra = [node('m1', 'mgr', { role: 'manager', self: true, labels: { [HOST_LABEL]: 'default' } }), node('w1', 'edge-1', { labels: { [HOST_LABEL]: 'edge-1' } }), node('w2', 'old', { labels: { [HOST_LABEL]: 'edge-1' } }), node('w3', 'other', { labels: { [HOST_LABEL]: 'lab' } })]
  assert.deepEqual(planLabels(extra, a).changes.map(labelArgs), [['node', 'update', '--label-rm', 'io.stackyard.host', 'w2']])
  // applied: the manager is default (its add replaced the stale value), the worker edge-1
  const after = [node('m1', 'mgr', { role: 'manager', self: true, labels: { [HOST_LABEL]: 'default' } }), node('w1', 'edge-1', { labels: { [HOST_LABEL]: 'edge-1' } })]
  assert.deepEqual(planLabels(after, a).changes, [])
  // a host whose node is missing, two hosts on one node: problems, no change for them
  const odd = planLabels([node('m1', 'mgr', { role: 'manager', self: true })], hostAssignment({ STACKYARD_CONTEXTS: 'edge-1,mgr', STACKYARD_HOST_EDGE_1_STACKS: 'data', STACKYARD_HOST_EDGE_1_NODE: 'mgr', STACKYARD_HOST_MGR_STACKS: 'infrastructure' }, registry))
  assert.deepEqual(odd.problems, ['mgr: its node mgr is already host edge-1; one node is one host'])
  assert.match(planLabels([], a).problems.join('\n'), /default: no node has the hostname default/)
})

test('unmetConstraints: a host label no node carries, a stateful service whose label is on two nodes or pinned among several managers', () => {
  const nodes = [node('m1', 'mgr', { role: 'manager', labels: { [HOST_LABEL]: 'a' } }), node('w1', 'w', { labels: { [HOST_LABEL]: 'a' } })]
  assert.deepEqual(unmetConstraints(nodes, [
    { service: 'x/web', constraints: ['node.labels.io.stackyard.host == a'], stateful: false },
    { service: 'x/db', constraints: ['node.labels.io.stackyard.host == a'], stateful: true },
    { service: 'y/db', constraints: ['node.labels.io.stackyard.host == b'], stateful: true },
    { service: 'z/db', constraints: [MANAGER_CONSTRAINT], stateful: true },
  ]), ['x/db: keeps its volume on one node, and 2 nodes carry io.stackyard.host=a (mgr, w)', 'y/db: no node carries the label io.stackyard.host=b (it would stay pending)'])
  assert.deepEqual(unmetConstraints([...nodes, node('m2', 'mgr2', { role: 'manager' })], [{ service: 'z/db', constraints: [MANAGER_CONSTRAINT], stateful: true }]), ['z/db: is pinned to the manager (its stack is assigned to no host), and this swarm has 2 managers'])
})

test('placementWait says why a placed service has no task: its node down, or no node labelled; doctor names each pinned service\'s node', () => {
  const nodes = [node('m1', 'mgr', { role: 'manager', self: true }), node('w1', 'w', { state: 'down', labels: { [HOST_LABEL]: 'edge-1' } })]
  assert.equal(placementWait({ constraints: ['node.labels.io.stackyard.host == edge-1'] }, nodes), 'placed on host edge-1: node w is down')
  assert.equal(placementWait({ constraints: ['node.labels.io.stackyard.host == edge-2'] }, nodes), 'placed on host edge-2: no node carries io.stackyard.host=edge-2')
  assert.equal(placementWait({ constraints: [MANAGER_CONSTRAINT] }, nodes), '')
  assert.equal(placementWait({ constraints: [] }, nodes), '')
  const a = hostAssignment({ STACKYARD_CONTEXTS: 'edge-1', STACKYARD_HOST_EDGE_1_STACKS: 'data' }, registry)
  const ok = placementCheck([registry.stack('data')], a, nodes)
  assert.equal(ok.status, 'ok')
  assert.equal(ok.summary, "on host edge-1's node (w) (io.stackyard.host=edge-1): data/postgres")
  const bare = placementCheck([registry.stack('data')], hostAssignment({}, registry), nodes)
  assert.equal(bare.summary, 'on the manager (mgr) (stack assigned to no host): data/postgres')
  const unlabelled = placementCheck([registry.stack('data')], a, [node('m1', 'mgr', { role: 'manager' })])
  assert.equal(unlabelled.status, 'fail')
  assert.match(unlabelled.findings[0].message, /no node carries the label io\.stackyard\.host=edge-1/)
})

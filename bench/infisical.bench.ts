// Pushing 500 secrets to the loopback fake Infisical: (a) 500 exist and 10 changed, (b) 500 are new. Stackyard's push
// (one list, then batch POST / PATCH of up to 100 keys each) beside one-request-per-key baselines measured in the same
// run: a plain loop (one write per key, every key, after one list) and a kinder per-key loop that writes only the
// keys that differ. Requests are counted at the fake; wall time is the median of runs, each on a fresh server with a
// fresh login. No rate limit is applied while timing; the last column says what a 2024 build's 40/min would cost.
import { createInfisicalClient, type InfisicalClient, type InfisicalScope } from '../lib/infisical/client.ts'
import { createTransport } from '../lib/core/http.ts'
import { planPush, serverNormalize } from '../lib/infisical/plan.ts'
import { applyPush, readRemote } from '../lib/infisical/sync.ts'
import { table } from '../lib/core/format.ts'
import { startFakeInfisical } from '../test/fake-infisical.ts'

const KEYS = 500
const CHANGED = 10
const RUNS = 5
const LIMIT_PER_MINUTE = 40

const local: Record<string, string> = Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`SECRET_${String(i).padStart(3, '0')}`, `value-${i}-${'x'.repeat(32)}`]))
const stale = Object.fromEntries(Object.entries(local).map(([k, v], i) => [k, i < CHANGED ? `${v}-old` : v]))

type Variant = (c: InfisicalClient, scope: InfisicalScope) => Promise<void>

const stackyard: Variant = async (c, scope) => {
  const remote = await readRemote(c, scope)
  const plan = planPush(local, remote.secrets)
  await applyPush(c, scope, plan, remote)
}

/** The plain loop: list once, then one create or update per key, for every key. */
const perKeyAll: Variant = async (c, scope) => {
  const existing = new Set((await c.listSecrets(scope)).map((s) => s.key))
  for (const [k, v] of Object.entries(local)) await c.writeOne(existing.has(k) ? 'PATCH' : 'POST', scope, k, v)
}

/** One request per key that differs (after the same list and comparison as Stackyard). */
const perKeyChanged: Variant = async (c, scope) => {
  const remote = new Map((await c.listSecrets(scope)).map((s) => [s.key, s.value]))
  for (const [k, v] of Object.entries(local)) {
    const cur = remote.get(k)
    if (cur === undefined) await c.writeOne('POST', scope, k, v)
    else if (cur !== serverNormalize(v)) await c.writeOne('PATCH', scope, k, v)
  }
}

async function measure(seed: Record<string, string>, variant: Variant): Promise<{ ms: number; requests: number }> {
  const times: number[] = []
  let requests = 0
  for (let run = 0; run < RUNS; run++) {
    const fake = await startFakeInfisical()
    fake.seed(seed)
    const c = createInfisicalClient({ baseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret, transport: createTransport() })
    const scope = { projectId: fake.projectId, environment: 'dev', secretPath: '/' }
    const before = fake.count()
    const start = performance.now()
    await variant(c, scope)
    times.push(performance.now() - start)
    requests = fake.count() - before
    const after = fake.secrets()
    for (const [k, v] of Object.entries(local)) if (after[k] !== v) throw new Error(`benchmark variant left ${k} wrong`)
    await fake.close()
  }
  times.sort((a, b) => a - b)
  return { ms: times[Math.floor(times.length / 2)], requests }
}

const rows: string[][] = [['scenario', 'variant', 'HTTP requests', 'wall time (median)', 'requests ×', 'time ×', `at ${LIMIT_PER_MINUTE}/min (2024)`]]
for (const [name, seed] of [[`${KEYS} secrets, ${CHANGED} changed`, stale], [`${KEYS} new secrets`, {}]] as const) {
  const base = await measure(seed, perKeyAll)
  const kind = await measure(seed, perKeyChanged)
  const ours = await measure(seed, stackyard)
  const minutes = (n: number) => (n <= LIMIT_PER_MINUTE ? 'within 1 min' : `≥ ${Math.ceil(n / LIMIT_PER_MINUTE) - 1} min of waiting`)
  for (const [label, m] of [['one request per key, every key (baseline)', base], ['one request per changed key', kind], ['Stackyard push (batch, 100/request)', ours]] as const)
    rows.push([name, label, String(m.requests), `${m.ms.toFixed(1)} ms`, (m.requests / base.requests).toFixed(3), (m.ms / base.ms).toFixed(3), minutes(m.requests)])
}
console.log(`push of ${KEYS} secrets against the loopback fake Infisical (requests include the login and the list; ${RUNS} runs each)`)
console.log(table(rows))

// DNS for tunnel hostnames, planned: a pure function of the zone's records and the desired hosts. No I/O.
// Each routed host gets a proxied CNAME <host> → <tunnel-id>.cfargotunnel.com, ttl 1 (automatic).
// A record is OWNED by Stackyard when its comment carries the marker "managed by stackyard"; a record
// Stackyard does not own is never changed without --force, and an A/AAAA record at a routed name is a
// conflict that is reported, never deleted. Names are compared as lower-case FQDNs.
import type { DnsRecord, DnsRecordInput } from './client.ts'
import { fqdn, underDomain } from './config.ts'
import type { Change, Problem } from './diff.ts'

export const DNS_MARKER = 'managed by stackyard'
export const DNS_COMMENT = 'managed by stackyard (tunnel route)'

export function tunnelTarget(tunnelId: string): string {
  return `${tunnelId.toLowerCase()}.cfargotunnel.com`
}

export function isOwnedRecord(r: Pick<DnsRecord, 'comment'>): boolean {
  return (r.comment ?? '').toLowerCase().includes(DNS_MARKER)
}

export type DnsOp =
  | { kind: 'create'; host: string; record: DnsRecordInput }
  | { kind: 'update'; host: string; id: string; record: DnsRecordInput }
  | { kind: 'delete'; host: string; id: string }

export type DnsState = 'ok' | 'missing' | 'wrong' | 'unproxied' | 'conflict'

export interface DnsHostState {
  host: string
  state: DnsState
  detail: string
  owned?: boolean
}

export interface DnsPlan {
  ops: DnsOp[]
  hosts: DnsHostState[]
  changes: Change[]
  problems: Problem[]
}

export interface DnsOptions {
  force?: boolean
  prune?: boolean
  remove?: readonly string[]
}

export function desiredRecord(host: string, target: string, existing?: Pick<DnsRecord, 'tags'>): DnsRecordInput {
  return { type: 'CNAME', name: host, content: target, proxied: true, ttl: 1, comment: DNS_COMMENT, ...(existing?.tags?.length ? { tags: existing.tags } : {}) }
}

export function planDns(records: readonly DnsRecord[], hosts: readonly string[], target: string, domain: string, opts: DnsOptions = {}): DnsPlan {
  const ops: DnsOp[] = []
  const states: DnsHostState[] = []
  const changes: Change[] = []
  const problems: Problem[] = []
  const change = (op: Change['op'], key: string, detail: string) => changes.push({ area: 'dns', op, key, detail })
  const byName = new Map<string, DnsRecord[]>()
  for (const r of records) {
    const k = fqdn(r.name)
    byName.set(k, [...(byName.get(k) ?? []), r])
  }
  const remove = new Set((opts.remove ?? []).map(fqdn))
  const wanted = new Set(hosts.map(fqdn))

  for (const host of wanted) {
    if (remove.has(host)) continue
    const at = byName.get(host) ?? []
    const address = at.filter((r) => r.type === 'A' || r.type === 'AAAA')
    const cname = at.find((r) => r.type === 'CNAME')
    if (address.length) {
      const what = address.map((r) => `${r.type} ${r.content}`).join(', ')
      states.push({ host, state: 'conflict', detail: `${what} exists at this name` })
      problems.push({ area: 'dns', key: host, message: `${what} exists at this name (not deleted; the tunnel CNAME cannot coexist with it)`, hint: 'delete it in the dashboard if this host should go through the tunnel' })
      continue
    }
    if (!cname) {
      states.push({ host, state: 'missing', detail: 'no record' })
      ops.push({ kind: 'create', host, record: desiredRecord(host, target) })
      change('+', host, `CNAME → ${target} (proxied)`)
      continue
    }
    const owned = isOwnedRecord(cname)
    const rightTarget = fqdn(cname.content) === target
    const proxied = cname.proxied === true
    if (rightTarget && proxied) {
      states.push({ host, state: 'ok', detail: `CNAME → ${target} (proxied)`, owned })
      change('=', host, owned ? `CNAME → ${target} (proxied)` : `CNAME → ${target} (proxied; not marked as managed by Stackyard, left as is)`)
      continue
    }
    const wrong = [!rightTarget && `points at ${cname.content}`, !proxied && 'not proxied'].filter(Boolean).join(', ')
    states.push({ host, state: rightTarget ? 'unproxied' : 'wrong', detail: wrong, owned })
    if (owned || opts.force) {
      ops.push({ kind: 'update', host, id: cname.id, record: desiredRecord(host, target, cname) })
      change('~', host, `${wrong} → CNAME → ${target} (proxied)${owned ? '' : ' (not managed by Stackyard; --force)'}`)
    } else
      problems.push({ area: 'dns', key: host, message: `a CNAME not managed by Stackyard ${wrong}; left as it is`, hint: 'fix it in the dashboard, or run with --force to overwrite it' })
  }

  for (const [name, recs] of byName) {
    if (wanted.has(name) && !remove.has(name)) continue
    for (const r of recs) {
      if (r.type !== 'CNAME' || !underDomain(name, domain)) continue
      const owned = isOwnedRecord(r)
      if (remove.has(name)) {
        if (owned) {
          ops.push({ kind: 'delete', host: name, id: r.id })
          change('-', name, `CNAME → ${r.content} removed`)
        } else problems.push({ area: 'dns', key: name, message: 'the record is not managed by Stackyard; not removed', hint: 'delete it in the dashboard' })
        continue
      }
      if (!owned) continue
      if (opts.prune) {
        ops.push({ kind: 'delete', host: name, id: r.id })
        change('-', name, `CNAME → ${r.content}: no longer routed (--prune)`)
      } else change('=', name, 'no longer routed (kept; --prune removes it)')
    }
  }
  for (const host of remove) if (!byName.has(host)) change('=', host, 'no record to remove')
  return { ops, hosts: states, changes, problems }
}

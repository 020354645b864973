import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { changedSide, diffStatus, inSync, looksLikeReference, planMirror, planPullInto, planPush, serverNormalize, type SyncBase } from './plan.ts'

const remote = (o: Record<string, string>) => Object.entries(o).map(([key, value]) => ({ key, value }))
const fp = (v: string) => createHash('sha256').update(v).digest('hex')
const baseOf = (o: Record<string, string>): SyncBase => ({ get: (k) => (k in o ? fp(o[k]) : undefined), fingerprint: fp })

test('serverNormalize trims both sides and keeps one trailing newline', () => {
  assert.equal(serverNormalize('  a b  '), 'a b')
  assert.equal(serverNormalize('\tx\n\n'), 'x\n')
  assert.equal(serverNormalize('x\n'), 'x\n')
  assert.equal(serverNormalize('line1\nline2'), 'line1\nline2')
  assert.equal(serverNormalize('   '), '')
  assert.equal(serverNormalize(''), '')
})

test('looksLikeReference matches ${…} only', () => {
  assert.ok(looksLikeReference('a${B}c'))
  assert.ok(looksLikeReference('${VAR:-default}'))
  assert.ok(!looksLikeReference('$B and ${'))
})

test('planPush: create / update / unchanged / only in Infisical, sorted, without prune nothing is deleted', () => {
  const p = planPush({ NEW: 'n', SAME: 's', CHANGED: 'new' }, remote({ SAME: 's', CHANGED: 'old', EXTRA: 'e' }))
  assert.deepEqual(
    p.items.map((i) => [i.key, i.action]),
    [['CHANGED', 'update'], ['NEW', 'create'], ['SAME', 'unchanged'], ['EXTRA', 'remote-only']],
  )
  assert.deepEqual(p.creates, [{ key: 'NEW', value: 'n' }])
  assert.deepEqual(p.updates, [{ key: 'CHANGED', value: 'new' }])
  assert.deepEqual(p.deletes, [])
  assert.deepEqual(p.settled.sort(), ['CHANGED', 'NEW', 'SAME'])
})

test('planPush with prune deletes keys only in Infisical', () => {
  const p = planPush({ A: '1' }, remote({ A: '1', B: '2' }), { prune: true })
  assert.deepEqual(p.deletes, ['B'])
  assert.equal(p.items.find((i) => i.key === 'B')?.action, 'delete')
})

test('planPush flags values the server would alter and compares them as stored; only a written one is refused (issue 14 #19)', () => {
  const p = planPush({ PADDED: '  x  ', NL: 'y\n', MULTI: 'a\nb', NEW_PADDED: ' n', CHANGED_PADDED: ' c2 ' }, remote({ PADDED: 'x', NL: 'y\n', CHANGED_PADDED: 'c1' }))
  // stored trimmed already: a note, not a write, so nothing the server would alter
  assert.ok(p.items.find((i) => i.key === 'PADDED')?.trimmed)
  assert.deepEqual(p.trimmed, ['CHANGED_PADDED', 'NEW_PADDED'])
  assert.equal(p.items.find((i) => i.key === 'PADDED')?.action, 'unchanged')
  assert.equal(p.items.find((i) => i.key === 'NL')?.action, 'unchanged')
  assert.equal(p.items.find((i) => i.key === 'MULTI')?.action, 'create')
})

test('planPush marks references and empty values', () => {
  const p = planPush({ REF: 'x${OTHER}', EMPTY: '' }, [])
  assert.deepEqual(p.references, ['REF'])
  assert.ok(p.items.find((i) => i.key === 'EMPTY')?.empty)
  assert.deepEqual(p.creates.map((c) => c.key).sort(), ['EMPTY', 'REF'])
})

test('three-way: a key changed only in Infisical since the last sync is kept, unless forced', () => {
  const base = baseOf({ K: 'v1', L: 'v1', C: 'v1' })
  const local = { K: 'v1', L: 'v2', C: 'local' }
  const rem = remote({ K: 'remote', L: 'v1', C: 'remote' })
  const p = planPush(local, rem, { base })
  assert.deepEqual(
    p.items.map((i) => [i.key, i.action]),
    [['C', 'conflict'], ['K', 'remote-newer'], ['L', 'update']],
  )
  assert.deepEqual(p.updates.map((u) => u.key), ['L'])
  assert.deepEqual(planPush(local, rem, { base, force: true }).updates.map((u) => u.key), ['C', 'K', 'L'])
  // without a base every difference is a plain update (local wins, as asked)
  assert.deepEqual(planPush(local, rem).updates.map((u) => u.key), ['C', 'K', 'L'])
})

test('changedSide compares through the server normalisation', () => {
  const base = baseOf({ K: 'v' })
  assert.equal(changedSide('K', '  v ', 'w', base), 'remote')
  assert.equal(changedSide('K', 'w', 'v', base), 'local')
  assert.equal(changedSide('NOPE', 'a', 'b', base), undefined)
})

test('planPullInto: add / update / unchanged; local-only keys kept; local edits since the last sync kept unless forced', () => {
  const base = baseOf({ EDITED: 'old', THEIRS: 'old' })
  const p = planPullInto({ EDITED: 'mine', THEIRS: 'old', SAME: ' s ', MINE_ONLY: 'x' }, remote({ EDITED: 'old', THEIRS: 'new', SAME: 's', ADDED: 'a' }), { base })
  assert.deepEqual(
    p.items.map((i) => [i.key, i.action]),
    [['ADDED', 'add'], ['EDITED', 'local-newer'], ['SAME', 'unchanged'], ['THEIRS', 'update'], ['MINE_ONLY', 'local-only']],
  )
  assert.deepEqual(p.changes, { ADDED: 'a', THEIRS: 'new' })
  assert.ok(!('MINE_ONLY' in p.changes), 'a local-only key is never removed')
  assert.deepEqual(planPullInto({ EDITED: 'mine' }, remote({ EDITED: 'old' }), { base, force: true }).changes, { EDITED: 'old' })
})

test('planMirror: a generated mirror adds, updates and drops keys gone from Infisical', () => {
  assert.deepEqual(planMirror({ A: '1', GONE: 'x', B: 'old' }, remote({ A: '1', B: 'new', C: 'c' })), [
    { key: 'A', action: 'unchanged' },
    { key: 'B', action: 'update' },
    { key: 'C', action: 'add' },
    { key: 'GONE', action: 'removed' },
  ])
})

test('diffStatus: only local / only remote / different / same, with metadata and direction, never values', () => {
  const items = diffStatus({ L: 'l', D: 'mine', S: ' s', R2: 'old' }, [
    { key: 'R', value: 'r', version: 3, updatedAt: '2024-09-10T12:00:00Z' },
    { key: 'D', value: 'theirs' },
    { key: 'S', value: 's' },
    { key: 'R2', value: 'new' },
  ], baseOf({ R2: 'old' }))
  assert.deepEqual(items, [
    { key: 'D', state: 'different' },
    { key: 'L', state: 'only-local' },
    { key: 'R', state: 'only-remote', remoteVersion: 3, remoteUpdatedAt: '2024-09-10T12:00:00Z' },
    { key: 'R2', state: 'different', changed: 'remote' },
    { key: 'S', state: 'same', trimmed: true },
  ])
  assert.ok(!JSON.stringify(items).includes('mine') && !JSON.stringify(items).includes('theirs'))
  assert.equal(inSync(items), false)
  assert.equal(inSync(diffStatus({ A: 'x' }, remote({ A: 'x' }))), true)
})

// The generated schedule: the settings grammar, OnCalendar and cron forms, escaping, units that systemd-analyze
// verify accepts (with a checkout path full of characters systemd and sh treat specially), cron lines whose fields
// are valid and whose command, read the way cron and sh read it, runs exactly the intended argv. And the offsite
// retention policy grammar.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cronFields, cronLines, jobs, onCalendar, parseWhen, readSchedule, systemdExecutable, systemdUnits, systemdWord, type Paths, type ScheduleSettings } from './schedule.ts'
import { keepFlags, shownRepository } from './offsite-settings.ts'
import { ConfigError } from '../core/errors.ts'

const layers = (values: Record<string, string>) => ({ lookup: (k: string) => values[k], sources: Object.fromEntries(Object.keys(values).map((k) => [k, { kind: 'file' as const, file: '.env', line: 1 }])) })

test('schedule settings: [daily|DAYS] HH:MM or off; anything else names the key', () => {
  assert.deepEqual(parseWhen('03:00', 'K'), { days: [], hour: 3, minute: 0 })
  assert.deepEqual(parseWhen('daily 23:59', 'K'), { days: [], hour: 23, minute: 59 })
  assert.deepEqual(parseWhen('thu,Mon 2:30', 'K'), { days: [1, 4], hour: 2, minute: 30 })
  assert.equal(parseWhen('off', 'K'), undefined)
  for (const bad of ['24:00', '03:60', '3', 'Funday 03:00', 'Mon 03:00; rm -rf /', '*/5 * * * *', 'Mon,,Tue 03:00', ''])
    assert.throws(() => parseWhen(bad, 'STACKYARD_BACKUP_SCHEDULE (.env:3)'), (e: Error) => e instanceof ConfigError && /STACKYARD_BACKUP_SCHEDULE \(\.env:3\)/.test(e.message), bad)
})

test('the defaults: backup daily 03:00 keeping 7, the drill on Sundays 05:00, offsite only with a repository', () => {
  const s = readSchedule(layers({}))
  assert.deepEqual(s, { backup: { days: [], hour: 3, minute: 0 }, verify: { days: [0], hour: 5, minute: 0 }, keep: 7, includeSecrets: false, encrypt: false, offsite: false })
  assert.deepEqual(jobs(s).map((j) => j.runs), [[['tasks/backup.ts', '--keep', '7']], [['tasks/backup.ts', '--verify']]])
  const all = readSchedule(layers({ STACKYARD_BACKUP_KEEP: '14', STACKYARD_BACKUP_INCLUDE_SECRETS: 'true', STACKYARD_BACKUP_ENCRYPT: 'yes', STACKYARD_VERIFY_SCHEDULE: 'off', STACKYARD_OFFSITE_REPOSITORY: 'sftp:u@h:/r' }))
  assert.deepEqual(jobs(all).map((j) => j.runs), [[['tasks/backup.ts', '--keep', '14', '--include-secrets', '--encrypt'], ['tasks/offsite.ts', 'push']]])
  assert.throws(() => readSchedule(layers({ STACKYARD_BACKUP_KEEP: '0' })), /STACKYARD_BACKUP_KEEP \(\.env:1\)/)
  assert.throws(() => readSchedule(layers({ STACKYARD_BACKUP_ENCRYPT: 'maybe' })), /not true or false/)
  assert.throws(() => readSchedule(layers({ STACKYARD_BACKUP_SCHEDULE: 'off' })), /cannot be off/)
})

test('OnCalendar and cron forms of the same time', () => {
  const w = parseWhen('Mon,Thu 02:30', 'K')!
  assert.equal(onCalendar(w), 'Mon,Thu *-*-* 02:30:00')
  assert.equal(cronFields(w), '30 2 * * 1,4')
  assert.equal(onCalendar(parseWhen('03:05', 'K')!), '*-*-* 03:05:00')
  assert.equal(cronFields(parseWhen('03:05', 'K')!), '5 3 * * *')
})

test('systemd words: % and $ escaped, blanks and quotes quoted', () => {
  assert.equal(systemdWord('tasks/backup.ts'), 'tasks/backup.ts')
  assert.equal(systemdWord('/srv/a b/npx'), '"/srv/a b/npx"')
  assert.equal(systemdWord('100%'), '100%%')
  assert.equal(systemdWord('$HOME'), '$$HOME')
  assert.equal(systemdExecutable('/opt/node 20/$v/100%/npx'), '"/opt/node 20/$v/100%%/npx"')
  assert.equal(systemdWord('say "hi"\\'), '"say \\"hi\\"\\\\"')
  assert.throws(() => systemdWord('a\nb'), /control character/)
})

test('retention policy: restic forget flags; a bad rule names the key', () => {
  assert.deepEqual(keepFlags('daily=7, weekly=4,monthly=6'), ['--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '6'])
  for (const bad of ['daily=0', 'daily=7,daily=3', 'forever=1', 'daily=x', ',', 'daily=7;rm'])
    assert.throws(() => keepFlags(bad, 'STACKYARD_OFFSITE_KEEP (.env:2)'), /STACKYARD_OFFSITE_KEEP \(\.env:2\)/, bad)
  assert.equal(shownRepository('rest:https://user:s3cr3t-pass@backup.example:8000/repo'), 'rest:https://user:••••@backup.example:8000/repo')
  assert.equal(shownRepository('sftp:user@host:/srv/restic'), 'sftp:user@host:/srv/restic')
})

// A checkout path holding what systemd (%, $, quotes, blanks) and sh/cron (%, ', $, blanks) treat specially.
const HOSTILE = `stack yard %h $HOME 'q' "d"`

function fakeNpx(binName = `bin ${HOSTILE}`): { dir: string; npx: string; log: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-schedule-'))
  const bin = join(dir, binName)
  const root = join(dir, HOSTILE)
  mkdirSync(bin)
  mkdirSync(root)
  const log = join(dir, 'calls.log')
  const npx = join(bin, 'npx')
  // records its argv (one per line, NUL-free) and the folder it runs in
  writeFileSync(npx, `#!/bin/sh\n{ pwd; for a in "$@"; do printf '%s\\n' "$a"; done; echo --; } >> "${log}"\n`)
  chmodSync(npx, 0o755)
  return { dir, npx, log, root }
}

const settings: ScheduleSettings = { backup: parseWhen('Mon,Thu 02:30', 'K')!, verify: parseWhen('Sun 05:00', 'K')!, keep: 7, includeSecrets: true, encrypt: false, offsite: true }

test('the units pass systemd-analyze verify, with a hostile checkout path, and hold the exact commands', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) return t.skip('systemd-analyze is not installed')
  // systemd refuses quotes and backslashes in a program's path (not in its folder or arguments): blanks, % and $ here
  const f = fakeNpx('bin 100% $HOME')
  try {
    assert.throws(() => systemdUnits(settings, { root: f.root, npx: `${f.dir}/it's/npx`, path: '/bin' }), /quote or a backslash/)
    const paths: Paths = { root: f.root, npx: f.npx, path: `/usr/bin:/bin`, home: '/root' }
    const units = systemdUnits(settings, paths)
    assert.deepEqual(units.map((u) => u.name), ['stackyard-backup.service', 'stackyard-backup.timer', 'stackyard-verify.service', 'stackyard-verify.timer'])
    const out = join(f.dir, 'units')
    mkdirSync(out)
    for (const u of units) writeFileSync(join(out, u.name), u.content)
    const r = spawnSync('systemd-analyze', ['verify', ...units.map((u) => join(out, u.name))], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr.trim(), '', 'no warning either')
    // systemd reads the ExecStart words back as written: the npx path (with its blanks, %, $ and quotes) is one word
    const service = units[0].content
    assert.match(service, /^Type=oneshot$/m)
    const npx = `"${f.npx.replace(/%/g, '%%')}"`
    assert.deepEqual(service.split('\n').filter((l) => l.startsWith('ExecStart=')), [
      `ExecStart=${npx} zx tasks/backup.ts --keep 7 --include-secrets`,
      `ExecStart=${npx} zx tasks/offsite.ts push`,
    ], 'backup, then the offsite push')
    assert.match(service, new RegExp(`^WorkingDirectory=${f.root.replace(/%/g, '%%').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'))
    assert.match(units[1].content, /^OnCalendar=Mon,Thu \*-\*-\* 02:30:00$/m)
    const cal = spawnSync('systemd-analyze', ['calendar', 'Mon,Thu *-*-* 02:30:00'], { encoding: 'utf8' })
    assert.equal(cal.status, 0, cal.stderr)
    // a broken unit must fail the same check (the check can fail)
    writeFileSync(join(out, 'stackyard-backup.service'), service.replace(/ExecStart=/, 'ExecStart=relative/npx '))
    assert.notEqual(spawnSync('systemd-analyze', ['verify', join(out, 'stackyard-backup.service')]).status, 0)
  } finally {
    rmSync(f.dir, { recursive: true, force: true })
  }
})

/** cron's five fields: minute hour day-of-month month day-of-week, each `*`, a number in range or a list of them. */
function validCronFields(fields: string[]): boolean {
  const ranges: Array<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]]
  return fields.length === 5 && fields.every((f, i) => f === '*' || f.split(',').every((n) => /^\d+$/.test(n) && Number(n) >= ranges[i][0] && Number(n) <= ranges[i][1]))
}

test('cron lines: valid time fields; the command, read as cron and sh read it, runs the intended argv in the checkout', () => {
  const f = fakeNpx()
  try {
    const lines = cronLines(settings, { root: f.root, npx: f.npx, path: '/usr/bin:/bin' })
    assert.match(lines[0], /^# /, 'a comment first')
    assert.equal(lines.length, 3)
    for (const line of lines.slice(1)) {
      const parts = line.split(' ')
      assert.ok(validCronFields(parts.slice(0, 5)), `time fields of: ${line}`)
      const command = parts.slice(5).join(' ')
      // cron turns an unescaped % into a line break and drops the backslash of \%
      assert.doesNotMatch(command, /(^|[^\\])%/, 'every % escaped')
      const asCronRunsIt = command.replace(/\\%/g, '%')
      const r = spawnSync('/bin/sh', ['-c', asCronRunsIt], { encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
    }
    const calls = readFileSync(f.log, 'utf8').split('--\n').filter(Boolean).map((c) => c.trimEnd().split('\n'))
    assert.deepEqual(calls, [
      [f.root, 'zx', 'tasks/backup.ts', '--keep', '7', '--include-secrets'],
      [f.root, 'zx', 'tasks/offsite.ts', 'push'],
      [f.root, 'zx', 'tasks/backup.ts', '--verify'],
    ])
  } finally {
    rmSync(f.dir, { recursive: true, force: true })
  }
})

test('cron: the offsite push runs only after a backup that succeeded', () => {
  const f = fakeNpx()
  try {
    writeFileSync(f.npx, `#!/bin/sh\necho "$2" >> "${f.log}"\nexit 1\n`)
    const line = cronLines(settings, { root: f.root, npx: f.npx, path: '/usr/bin:/bin' })[1]
    const r = spawnSync('/bin/sh', ['-c', line.split(' ').slice(5).join(' ').replace(/\\%/g, '%')], { encoding: 'utf8' })
    assert.notEqual(r.status, 0)
    assert.deepEqual(readFileSync(f.log, 'utf8').trim().split('\n'), ['tasks/backup.ts'])
  } finally {
    rmSync(f.dir, { recursive: true, force: true })
  }
})

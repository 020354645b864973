// Path kinds: regular files, FIFOs, directories and output folders under kernel file systems or below a file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from './errors.ts'
import { pathKind, requireOutputDirectory, requireRegularFile } from './path-kind.ts'

const dir = () => mkdtempSync(join(tmpdir(), 'path-kind-'))

test('pathKind tells a file, a symlink to one, a FIFO, a directory and a missing path apart without opening them', () => {
  const d = dir()
  writeFileSync(join(d, 'f'), 'x')
  symlinkSync(join(d, 'f'), join(d, 'l'))
  symlinkSync(join(d, 'nope'), join(d, 'dangling'))
  execFileSync('mkfifo', [join(d, 'p')])
  assert.equal(pathKind(join(d, 'f')), 'file')
  assert.equal(pathKind(join(d, 'l')), 'file')
  assert.equal(pathKind(join(d, 'dangling')), 'missing')
  assert.equal(pathKind(join(d, 'p')), 'a FIFO')
  assert.equal(pathKind(d), 'directory')
  assert.equal(pathKind(join(d, 'f', 'sub')), 'missing')
  assert.equal(pathKind('/dev/null'), 'a device')
})

test('requireRegularFile refuses a FIFO and a directory with ConfigError; a missing optional file is false', () => {
  const d = dir()
  execFileSync('mkfifo', [join(d, 'p')])
  assert.throws(() => requireRegularFile(join(d, 'p'), 'p', { hint: 'h' }), (e: unknown) => e instanceof ConfigError && e.message === 'p is not a regular file (it is a FIFO)')
  assert.throws(() => requireRegularFile(d, 'd', { hint: 'h' }), /d is not a regular file \(it is a directory\)/)
  assert.equal(requireRegularFile(join(d, 'none'), 'none', { optional: true, hint: 'h' }), false)
  assert.throws(() => requireRegularFile(join(d, 'none'), 'none', { hint: 'h' }), /none does not exist/)
})

test('requireOutputDirectory: a directory or a creatable path passes; /proc, /sys, /dev and a path below a file do not', () => {
  const d = dir()
  writeFileSync(join(d, 'file'), 'x')
  symlinkSync('/proc', join(d, 'proc-link'))
  requireOutputDirectory(d, 'd', '--out')
  requireOutputDirectory(join(d, 'a', 'b'), 'a/b', '--out')
  assert.throws(() => requireOutputDirectory('/proc/x', '/proc/x', '--out'), (e: unknown) => e instanceof ConfigError && /^--out \/proc\/x: \/proc is a kernel file system/.test(e.message))
  assert.throws(() => requireOutputDirectory('/sys', '/sys', '--out'), /\/sys is a kernel file system/)
  assert.throws(() => requireOutputDirectory(join(d, 'proc-link', 'x'), 'proc-link/x', '--out'), /\/proc is a kernel file system/)
  assert.throws(() => requireOutputDirectory(join(d, 'file', 'sub'), 'file/sub', '--out'), /--out file\/sub: file is not a directory \(it is a file\)$/)
  assert.throws(() => requireOutputDirectory(join(d, 'file'), 'file', '--out'), /--out file: file is not a directory/)
})

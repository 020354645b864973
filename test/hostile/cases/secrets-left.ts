// Secrets left behind (issue 14): links and paths in the way of the files that hold secrets are refused with one
// clear line before anything is written; never a second copy of the secrets beside a link, never a stack trace.
import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { HostileCase } from '../case.ts'

const ENV = 'INFISICAL_ENCRYPTION_KEY="0123456789abcdef0123456789abcdef"\n'
const running = (svc: string, id: string) => ({ match: ['ps', '-a', `label=com.docker.compose.service=${svc}`], stdout: JSON.stringify({ ID: id, Names: `stackyard-infra-${svc}-1`, State: 'running' }) })

export const cases: HostileCase[] = [
  {
    name: '.env is a symbolic link to a file that does not exist',
    task: 'secrets.ts',
    args: ['generate'],
    setup: (repo) => symlinkSync('vault/platform.env', join(repo.root, '.env')),
    unchanged: ['.env', '.env.bak', 'vault/platform.env'],
    expect: { code: 2, message: /\.env is a symbolic link to .*vault\/platform\.env, which does not exist: nothing was written/ },
  },
  {
    name: '.env is a symbolic link to a folder',
    task: 'secrets.ts',
    args: ['generate'],
    setup: (repo) => {
      mkdirSync(join(repo.root, 'vault'))
      symlinkSync('vault', join(repo.root, '.env'))
    },
    unchanged: ['.env', '.env.bak', 'vault'],
    // refused by the env loader already, before any write
    expect: { code: 2, message: /\.env: cannot read: EISDIR/ },
  },
  {
    name: 'backup with a file where the backups folder goes',
    task: 'backup.ts',
    args: ['--stack', 'compute', '--include-secrets'],
    files: { '.env': ENV, backups: 'not a folder\n' },
    // the output folder is checked with the flags, before Docker is asked anything: a usage error
    expect: { code: 2, message: /^✖ --out backups: backups is not a directory \(it is a file\)/ },
    secrets: ['0123456789abcdef0123456789abcdef'],
  },
  {
    name: 'backup --out a dangling symbolic link',
    task: 'backup.ts',
    args: ['--stack', 'compute', '--include-secrets', '--out', 'elsewhere'],
    files: { '.env': ENV },
    setup: (repo) => symlinkSync('missing-disk/backups', join(repo.root, 'elsewhere')),
    unchanged: ['.env', 'elsewhere', 'missing-disk'],
    expect: { code: 1, message: /^✖ elsewhere is not a folder: nothing was written/ },
    secrets: ['0123456789abcdef0123456789abcdef'],
  },
  {
    name: 'infisical reset with a file where the backups folder goes',
    task: '00-infrastructure/infisical/reset.ts',
    args: ['--data', '--yes'],
    files: { '.env': ENV, backups: 'not a folder\n' },
    setup: (repo) =>
      repo.dockerRules([running('infisical-db', 'db1'), running('infisical-redis', 'rd1'), running('infisical-backend', 'be1'), { match: ['exec', 'db1', 'pg_dump'], stdout: '-- PostgreSQL database dump complete\n' }]),
    expect: { code: 1, message: /^✖ backups is not a folder: nothing was written/ },
    secrets: ['0123456789abcdef0123456789abcdef'],
  },
]

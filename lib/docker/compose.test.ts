import { test } from 'node:test'
import assert from 'node:assert/strict'
import { composeArgs, downCommand, logsCommand, upCommand } from './compose.ts'
import type { Stack } from '../model/registry.ts'

const stack = { name: 'apps', project: 'stackyard-apps', dir: '/srv/sy/compose/03-apps' } as Stack

test('composeArgs: project, project directory, files, env files (in order), profiles, then the subcommand', () => {
  const args = composeArgs({ stack, files: ['/srv/sy/compose/03-apps/docker-compose.yml', '/srv/sy/compose/03-apps/docker-compose.override.public.yml'], envFiles: ['/srv/sy/.stackyard/derived.env', '/srv/sy/.env.global', '/srv/sy/.env'], profiles: ['cpu', 'tunnel'] }, upCommand({ timeout: 120 }))
  assert.deepEqual(args, [
    'compose', '--project-name', 'stackyard-apps', '--project-directory', '/srv/sy/compose/03-apps',
    '-f', '/srv/sy/compose/03-apps/docker-compose.yml', '-f', '/srv/sy/compose/03-apps/docker-compose.override.public.yml',
    '--env-file', '/srv/sy/.stackyard/derived.env', '--env-file', '/srv/sy/.env.global', '--env-file', '/srv/sy/.env',
    '--profile', 'cpu', '--profile', 'tunnel',
    'up', '--detach', '--wait', '--wait-timeout', '120',
  ])
})

test('composeArgs refuses relative paths (Compose would resolve them against the cwd)', () => {
  assert.throws(() => composeArgs({ stack, files: ['docker-compose.yml'], envFiles: [], profiles: [] }, ['ps']), /not absolute/)
  assert.throws(() => composeArgs({ stack, files: [], envFiles: ['.env'], profiles: [] }, ['ps']), /not absolute/)
})

test('subcommands', () => {
  assert.deepEqual(upCommand({ timeout: 300, services: ['caddy'], forceRecreate: true }), ['up', '--detach', '--wait', '--wait-timeout', '300', '--no-deps', '--force-recreate', 'caddy'])
  assert.deepEqual(downCommand({ volumes: false }), ['down', '--remove-orphans'])
  assert.deepEqual(downCommand({ volumes: true }), ['down', '--remove-orphans', '--volumes'])
  assert.deepEqual(logsCommand({ services: ['db'], follow: true, since: '10m', tail: 5 }), ['logs', '--no-color', '--follow', '--since', '10m', '--tail', '5', 'db'])
})

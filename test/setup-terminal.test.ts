// The setup wizard in a real terminal: tmux runs it in a detached session (its own server socket), the test waits for
// each prompt's text on the screen before sending keys, then asserts the files. Skipped only when tmux is missing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { setupRepo } from './setup-helpers.ts'
import type { TempRepo } from './helpers/repo.ts'
import { composeSub } from './stack-fixtures.ts'
import { taskShellCommand } from './helpers/task-command.ts'

const hasTmux = spawnSync('tmux', ['-V']).status === 0
const skip = hasTmux ? false : 'tmux is not installed (test/deps.sh installs it): the terminal path of the setup wizard is not tested'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
let sessions = 0

interface Terminal {
  /** waits until the screen matches (30 s at most), returns the screen */
  waitFor(re: RegExp): Promise<string>
  keys(...keys: string[]): void
  /** waits for the wizard to exit; its exit code */
  exit(): Promise<number>
  close(): void
}

/** Runs `tasks/setup.ts <args>` in the repository copy inside a detached tmux session, as a person would. */
function terminal(repo: TempRepo, args: string[]): Terminal {
  const socket = `stackyard-test-${process.pid}-${++sessions}`
  const root = repo.root
  const exitFile = join(root, `.setup-exit-${sessions}`)
  const docker = join(root, '.test-docker')
  writeFileSync(
    join(root, 'run-setup.sh'),
    [
      `cd '${root}'`,
      `export PATH='${join(root, 'test', 'fake-docker')}':"$PATH" FAKE_DOCKER_LOG='${docker}/calls.jsonl' FAKE_DOCKER_RULES='${docker}/rules.json' FAKE_DOCKER_STATE='${docker}/state.json' TERM=xterm-256color NO_COLOR=1`,
      'unset CI NODE_OPTIONS',
      taskShellCommand(root, 'setup.ts', args),
      // written whole, then renamed: the test polls for the file and must never read it half-written ('' reads as 0)
      `echo $? > '${exitFile}.part' && mv '${exitFile}.part' '${exitFile}'`,
      'sleep 60',
      '',
    ].join('\n'),
  )
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' })
  tmux('new-session', '-d', '-s', 'setup', '-x', '200', '-y', '50', `sh '${join(root, 'run-setup.sh')}'`)
  const screen = () => tmux('capture-pane', '-p', '-t', 'setup')
  return {
    async waitFor(re) {
      const deadline = Date.now() + 30_000
      for (;;) {
        const s = screen()
        if (re.test(s)) return s
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} on the screen:\n${s}`)
        await sleep(150)
      }
    },
    keys: (...keys) => void tmux('send-keys', '-t', 'setup', ...keys),
    async exit() {
      const deadline = Date.now() + 60_000
      while (!existsSync(exitFile)) {
        if (Date.now() > deadline) throw new Error(`the wizard did not exit:\n${screen()}`)
        await sleep(150)
      }
      return Number(readFileSync(exitFile, 'utf8').trim())
    },
    close: () => void spawnSync('tmux', ['-L', socket, 'kill-server']),
  }
}

/** Moves a clack select from its current option (●) to the one labelled `label`, then confirms. */
function choose(t: Terminal, screen: string, question: RegExp, label: string): void {
  const lines = screen.split('\n')
  const start = lines.findIndex((l) => question.test(l))
  const options = lines.slice(start + 1).filter((l) => /^│\s+[●○]/.test(l))
  const at = options.findIndex((l) => l.includes('●'))
  const to = options.findIndex((l) => new RegExp(`[●○] ${label}\\b`).test(l))
  assert.ok(at >= 0 && to >= 0, `options of ${question}: ${options.join(' | ')}`)
  for (let i = at; i < to; i++) t.keys('Down')
  for (let i = at; i > to; i--) t.keys('Up')
  t.keys('Enter')
}

test('in a terminal: the questions in order, the review, a confirmation; the answers end up in .env (mode 0600)', { skip }, async () => {
  const repo = setupRepo()
  const t = terminal(repo, ['--no-start'])
  try {
    let s = await t.waitFor(/Where will the services be reached\?/)
    choose(t, s, /Where will the services be reached/, 'Private')
    await t.waitFor(/Which stacks should run\?/)
    t.keys('Enter')
    s = await t.waitFor(/◆\s+Hardware profile/)
    choose(t, s, /Hardware profile/, 'none')
    s = await t.waitFor(/◆\s+Secrets manager/)
    choose(t, s, /Secrets manager/, 'None')
    s = await t.waitFor(/Write this and carry it out\?/)
    assert.match(s, /STACKYARD_PROFILE\s+none/, 'the review is on the screen before the question')
    assert.ok(!existsSync(join(repo.root, '.env')), 'nothing written before the confirmation')
    t.keys('Enter')
    assert.equal(await t.exit(), 0, await t.waitFor(/./))
    const env = parseDotenv(repo.read('.env'))
    assert.deepEqual([env.STACKYARD_ENVIRONMENT, env.STACKYARD_PROFILE, env.STACKYARD_STACKS, env.STACKYARD_PROFILES], ['private', 'none', '', ''])
    assert.match(env.N8N_ENCRYPTION_KEY, /^[0-9a-f]{64}$/)
    assert.equal(statSync(join(repo.root, '.env')).mode & 0o777, 0o600)
    assert.ok(!repo.dockerCalls().some((c) => composeSub(c) === 'up'), '--no-start')
  } finally {
    t.close()
    repo.cleanup()
  }
})

test('in a terminal on a configured installation: "keep" asks nothing more; Ctrl-C at a prompt, or "no" at the review, leaves .env untouched (exit 130)', { skip }, async () => {
  const repo = setupRepo()
  try {
    assert.equal((await repo.run('setup.ts', ['--yes', '--no-start'])).code, 0)
    const before = repo.read('.env')

    const keep = terminal(repo, ['--no-start'])
    try {
      let s = await keep.waitFor(/Keep these settings\?/)
      choose(keep, s, /Keep these settings/, 'Keep the current settings')
      s = await keep.waitFor(/Carry this out\?/)
      assert.match(s, /nothing to change/)
      keep.keys('Enter')
      assert.equal(await keep.exit(), 0)
    } finally {
      keep.close()
    }

    const cancel = terminal(repo, ['--no-start'])
    try {
      let s = await cancel.waitFor(/Keep these settings\?/)
      choose(cancel, s, /Keep these settings/, 'Change settings')
      s = await cancel.waitFor(/Where will the services be reached\?/)
      choose(cancel, s, /Where will the services be reached/, 'Public')
      await cancel.waitFor(/Base domain/)
      cancel.keys('-l', 'example.org')
      cancel.keys('C-c')
      const code = await cancel.exit()
      assert.equal(code, 130, await cancel.waitFor(/./))
    } finally {
      cancel.close()
    }

    const decline = terminal(repo, ['--no-start', '--rotate', 'SEARXNG_SECRET'])
    try {
      const s = await decline.waitFor(/Keep these settings\?/)
      choose(decline, s, /Keep these settings/, 'Keep the current settings')
      await decline.waitFor(/Write this and carry it out\?/)
      decline.keys('n')
      const code = await decline.exit()
      assert.equal(code, 130, await decline.waitFor(/./))
    } finally {
      decline.close()
    }
    assert.equal(repo.read('.env'), before, 'byte for byte')
    assert.ok(!repo.exists('.env.bak'))
  } finally {
    repo.cleanup()
  }
})

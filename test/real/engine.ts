// The real Docker engine for the real tier: is one answering, start dockerd when none does (and stop exactly what
// was started, by PID), and whether this run must have one (CI=true: a missing engine is a failure, not a skip).
import { spawn, spawnSync } from 'node:child_process'
import { openSync, closeSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** `docker info` answers (with a server, not only the client) */
export function engineAnswers(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 })
  return r.status === 0 && r.stdout.trim() !== ''
}

/** `docker compose version` answers: Compose v2 is installed */
export function composeVersion(): string | undefined {
  const r = spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8', timeout: 20_000 })
  return r.status === 0 ? r.stdout.trim() : undefined
}

export const ciRequiresEngine = () => process.env.CI === 'true' || process.env.CI === '1'

export interface StartedEngine {
  pid: number
  log: string
  stop(): Promise<void>
}

/** Starts dockerd in the background when no engine answers and waits for it; undefined when one already answers. */
export async function startEngineIfNeeded(timeoutMs = 60_000): Promise<StartedEngine | undefined> {
  if (engineAnswers()) return undefined
  const which = spawnSync('sh', ['-c', 'command -v dockerd'], { encoding: 'utf8' })
  if (which.status !== 0) throw new Error('dockerd is not installed (test/deps.sh installs it: docker.io)')
  const log = join(tmpdir(), `stackyard-dockerd-${process.pid}.log`)
  const fd = openSync(log, 'a')
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  child.unref()
  const pid = child.pid!
  const deadline = Date.now() + timeoutMs
  while (!engineAnswers()) {
    if (Date.now() > deadline || child.exitCode !== null) {
      try { process.kill(pid, 'SIGTERM') } catch {}
      throw new Error(`dockerd did not answer within ${timeoutMs / 1000}s (its log: ${log})`)
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  return {
    pid,
    log,
    async stop() {
      try { process.kill(pid, 'SIGTERM') } catch { return }
      for (let i = 0; i < 60; i++) {
        try { process.kill(pid, 0) } catch { return }
        await new Promise((r) => setTimeout(r, 500))
      }
      try { process.kill(pid, 'SIGKILL') } catch {}
    },
  }
}

/** The docker socket exists at the default place (a quick hint for messages) */
export const defaultSocket = () => existsSync('/var/run/docker.sock')

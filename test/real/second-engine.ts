// A second Docker engine on this machine, to join the real tier's swarm as a worker node: dockerd in a network
// namespace of its own (a veth pair to this machine: 10.231.0.1 here, 10.231.0.2 there), a UTS namespace with its own
// hostname, its own data root, exec root, pidfile and socket in a temp folder. Started and stopped by PID; everything
// it made (namespace, veth, folder) is removed by `remove`. Used only by test/real/swarm-placement.test.ts.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DockerOut } from './harness.ts'

export const MANAGER_ADDR = '10.231.0.1'
export const WORKER_ADDR = '10.231.0.2'
const NETNS = 'stackyard-w1'
const VETH_HOST = 'sy-w1-h'
const VETH_NS = 'sy-w1-n'

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 })
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') }
}

export interface SecondEngine {
  hostname: string
  dir: string
  /** the worker's dockerd PID while it runs */
  pid?: number
  docker(args: string[], opts?: { input?: string }): DockerOut
  /** starts dockerd (once the network is there); waits until it answers */
  start(): Promise<void>
  /** stops dockerd by its PID (SIGTERM, then SIGKILL after 30 s); waits until it is gone */
  stop(): Promise<void>
  /** stops it if running, removes the namespace, the veth and the folder */
  remove(): void
}

/** Why a second engine cannot be made here (a missing tool, not root), or undefined. */
export function secondEngineUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (a network namespace needs it)'
  for (const tool of ['ip', 'nsenter', 'unshare', 'dockerd']) if (sh('sh', ['-c', `command -v ${tool}`]).code !== 0) return `${tool} is not installed`
  return undefined
}

/** The network for the second engine: namespace, veth pair, addresses. Throws with the failing command. */
export function makeSecondEngine(hostname: string): SecondEngine {
  const dir = mkdtempSync(join(tmpdir(), 'stackyard-worker-'))
  const sock = join(dir, 'docker.sock')
  const must = (cmd: string, args: string[]) => {
    const r = sh(cmd, args)
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`)
  }
  // leftovers of an interrupted run
  sh('ip', ['netns', 'del', NETNS])
  sh('ip', ['link', 'del', VETH_HOST])
  must('ip', ['netns', 'add', NETNS])
  must('ip', ['link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS])
  must('ip', ['link', 'set', VETH_NS, 'netns', NETNS])
  must('ip', ['addr', 'add', `${MANAGER_ADDR}/30`, 'dev', VETH_HOST])
  must('ip', ['link', 'set', VETH_HOST, 'up'])
  const inNs = (args: string[]) => must('ip', ['netns', 'exec', NETNS, ...args])
  inNs(['ip', 'addr', 'add', `${WORKER_ADDR}/30`, 'dev', VETH_NS])
  inNs(['ip', 'link', 'set', VETH_NS, 'up'])
  inNs(['ip', 'link', 'set', 'lo', 'up'])
  inNs(['ip', 'route', 'add', 'default', 'via', MANAGER_ADDR])

  const engine: SecondEngine = {
    hostname,
    dir,
    docker(args, opts = {}) {
      const r = spawnSync('docker', args, { encoding: 'utf8', input: opts.input, env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, maxBuffer: 1 << 26, timeout: 300_000 })
      return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
    },
    async start() {
      const log = openSync(join(dir, 'dockerd.log'), 'a')
      // nsenter enters only the network namespace: `ip netns exec` would also remount /sys and hide the cgroups
      const child = spawn('nsenter', [`--net=/var/run/netns/${NETNS}`, 'unshare', '--uts', 'sh', '-c', `hostname ${hostname} && exec dockerd --data-root ${join(dir, 'data')} --exec-root ${join(dir, 'exec')} --pidfile ${join(dir, 'dockerd.pid')} -H unix://${sock} --cgroup-parent stackyard-worker --bip 172.31.250.1/24`], { stdio: ['ignore', log, log], detached: true })
      closeSync(log)
      child.unref()
      engine.pid = child.pid
      for (let i = 0; i < 60; i++) {
        if (engine.docker(['info', '--format', '{{.ServerVersion}}']).code === 0) return
        if (child.exitCode !== null) break
        await new Promise((r) => setTimeout(r, 1000))
      }
      throw new Error(`the second dockerd did not answer: ${readFileSync(join(dir, 'dockerd.log'), 'utf8').split('\n').filter((l) => /level=(error|fatal)|failed/.test(l)).slice(-3).join(' | ')}`)
    },
    async stop() {
      const pid = engine.pid
      if (!pid) return
      const alive = () => { try { process.kill(pid, 0); return true } catch { return false } }
      try { process.kill(pid, 'SIGTERM') } catch {}
      for (let i = 0; i < 60 && alive(); i++) await new Promise((r) => setTimeout(r, 500))
      if (alive()) { try { process.kill(pid, 'SIGKILL') } catch {} }
      for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 500))
      engine.pid = undefined
    },
    remove() {
      if (engine.pid) { try { process.kill(engine.pid, 'SIGKILL') } catch {} ; engine.pid = undefined }
      sh('ip', ['netns', 'del', NETNS])
      sh('ip', ['link', 'del', VETH_HOST])
      // the worker's overlay mounts go with its dockerd; a mount left by a killed one is unmounted before the folder goes
      const mounts = existsSync('/proc/mounts') ? readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(dir)) : []
      for (const m of mounts.reverse()) sh('umount', ['-l', m])
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return engine
}

// Test helpers for the real caddy: free loopback ports, a plain GET, and `caddy run` on a Caddyfile,
// waited for until it answers /health. Used by the tests that route through a real Caddy.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const running: ChildProcess[] = []

/** Throws a clear error when the caddy binary is missing (the real Caddy is required, never skipped). */
export function requireCaddy(): void {
  if (spawnSync('caddy', ['version']).status !== 0) throw new Error("caddy is not installed: run test/deps.sh (it installs Debian's caddy)")
}

export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** GET http://127.0.0.1:<port><path> with an optional Host header. */
export function get(port: number, host?: string, path = '/'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {} }, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** `caddy run` on a Caddyfile; resolves once http://127.0.0.1:<healthPort>/health answers 200. */
export async function startCaddy(file: string, healthPort: number, env: Record<string, string> = {}): Promise<void> {
  requireCaddy()
  const child = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  running.push(child)
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`caddy exited: ${stderr.slice(-2000)}`)
    if (await get(healthPort, undefined, '/health').then((r) => r.status === 200, () => false)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`caddy did not answer /health: ${stderr.slice(-2000)}`)
}

/** Stops every caddy started here (call from after()). */
export function stopCaddies(): void {
  for (const c of running.splice(0)) c.kill('SIGTERM')
}

/** Closes loopback servers (the upstream stand-ins), open connections included. */
export async function closeServers(servers: Server[]): Promise<void> {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise<void>((r) => s.close(() => r()))
  }
}

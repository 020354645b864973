// Test helper: a loopback HTTP server with a route table that records every request. Fake API
// servers (Cloudflare, Infisical) build on it. Never used by product code.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string | string[] | undefined>
  body: unknown
  rawBody: string
}

export interface Reply {
  status?: number
  headers?: Record<string, string>
  /** serialized as JSON unless it is a string */
  body?: unknown
  /** destroy the socket without answering (a dropped connection) */
  drop?: boolean
  /** wait before answering */
  delayMs?: number
  /** (an injected reply) let the route handle the request first, then apply this reply's drop/delay: a lost reply */
  afterHandler?: boolean
}

export interface FakeServerOptions {
  /** bodies larger than this are refused before any route sees them (as Fastify's bodyLimit does) */
  bodyLimit?: number
  /** the refusal (default: Fastify's 413 body) */
  tooLarge?: Reply
}

export type Handler = (req: RecordedRequest, params: Record<string, string>) => Reply | Promise<Reply>

export interface Route {
  method: string
  /** path pattern with :params, e.g. /accounts/:account/cfd_tunnel/:id */
  path: string
  handler: Handler
}

export interface FakeServer {
  url: string
  requests: RecordedRequest[]
  /** replies served before the route table, in order (fault injection) */
  inject(match: (req: RecordedRequest) => boolean, reply: Reply, times?: number): void
  close(): Promise<void>
}

export async function startFakeServer(routes: Route[], opts: FakeServerOptions = {}): Promise<FakeServer> {
  const requests: RecordedRequest[] = []
  const injections: Array<{ match: (r: RecordedRequest) => boolean; reply: Reply; left: number }> = []
  const compiled = routes.map((r) => {
    const names: string[] = []
    const re = new RegExp('^' + r.path.replace(/:([A-Za-z_]+)/g, (_, n: string) => (names.push(n), '([^/]+)')) + '/?$')
    return { ...r, re, names }
  })
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const rawBody = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://x')
    let body: unknown = undefined
    if (rawBody) {
      try {
        body = JSON.parse(rawBody)
      } catch {
        body = rawBody
      }
    }
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, rawBody }
    requests.push(rec)
    let reply: Reply | undefined
    const route = async (): Promise<Reply | undefined> => {
      for (const r of compiled) {
        if (r.method !== rec.method) continue
        const m = r.re.exec(rec.path)
        if (!m) continue
        const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]))
        return r.handler(rec, params)
      }
      return undefined
    }
    const inj = injections.find((i) => i.left > 0 && i.match(rec))
    if (opts.bodyLimit !== undefined && Buffer.byteLength(rawBody) > opts.bodyLimit)
      reply = opts.tooLarge ?? { status: 413, body: { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'Request body is too large' } }
    else if (inj) {
      inj.left--
      reply = inj.reply.afterHandler ? { ...(await route()), drop: inj.reply.drop, delayMs: inj.reply.delayMs } : inj.reply
    } else reply = await route()
    reply ??= { status: 404, body: { error: 'not found', path: rec.path } }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply!.delayMs))
    if (reply.drop) {
      req.socket.destroy()
      return
    }
    const isString = typeof reply.body === 'string'
    const payload = reply.body === undefined ? '' : isString ? (reply.body as string) : JSON.stringify(reply.body)
    res.writeHead(reply.status ?? 200, { ...(reply.body === undefined ? {} : { 'content-type': isString ? 'text/html' : 'application/json' }), ...reply.headers })
    res.end(payload)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    inject: (match, reply, times = 1) => injections.push({ match, reply, left: times }),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }),
  }
}

// HTTP transport only: JSON encode/decode, content-type only with a body, timeouts, bounded retries
// honouring retry-after and rate-limit headers, the dry-run hook for non-GET methods, debug logs
// without credentials. No env reads, no service knowledge (lib/cloudflare/client.ts, lib/infisical/client.ts add that).
import type { Dispatcher } from 'undici'
import type { z } from 'zod'
import { StackyardError } from './errors.ts'
import { log } from './log.ts'
import { redact } from './redact.ts'

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  /** parsed JSON body, or undefined when the body is empty or not JSON */
  json: unknown
  text: string
  /** true when --dry-run kept the request from being sent */
  skipped?: boolean
}

export interface RequestOptions {
  headers?: Record<string, string>
  /** headers computed before every attempt (a bearer token that may need renewing after a wait) */
  authorize?: () => Promise<Record<string, string>>
  /** retryable statuses handed back at once instead of retried (the caller knows better, e.g. a rejected token) */
  noRetry?: readonly number[]
  query?: Record<string, string | number | boolean | undefined>
  /** a JSON body; content-type is set only when there is one */
  body?: unknown
  timeoutMs?: number
  /** retry 429 on any method (the server rejected it before handling it, e.g. Infisical's limiter) */
  retry429Always?: boolean
  /** label for logs and errors, e.g. "Cloudflare GET /zones" */
  label?: string
}

export interface TransportOptions {
  /** under --dry-run, non-GET requests are not sent; this is told what was skipped */
  dryRun?: { skipped(what: string): void }
  /** retries for retryable statuses (default 4) */
  maxRetries?: number
  /** longest wait the client accepts for retry-after / a rate-limit reset before giving up (default 90 s) */
  maxWaitMs?: number
  /** base for exponential backoff without retry-after (default 500 ms) */
  backoffMs?: number
  timeoutMs?: number
  dispatcher?: Dispatcher
  /** injectable for tests */
  sleep?: (ms: number) => Promise<void>
}

export type HttpErrorKind = 'unreachable' | 'timeout' | 'rate-limited' | 'bad-response' | 'status'

export class HttpError extends StackyardError {
  kind: HttpErrorKind
  status?: number
  method: string
  url: string
  body?: unknown
  constructor(kind: HttpErrorKind, method: string, url: string, message: string, extra: { status?: number; body?: unknown; hint?: string } = {}) {
    super(message, { hint: extra.hint })
    this.kind = kind
    this.method = method
    this.url = url
    this.status = extra.status
    this.body = extra.body
  }
}

const IDEMPOTENT = new Set<Method>(['GET', 'HEAD', 'PUT', 'DELETE'])
const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504])
const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export interface Transport {
  send(method: Method, url: string, opts?: RequestOptions): Promise<HttpResponse>
  /** requests actually sent (for tests and benchmarks) */
  readonly count: number
}

export function createTransport(t: TransportOptions = {}): Transport {
  const maxRetries = t.maxRetries ?? 4
  const maxWaitMs = t.maxWaitMs ?? 90_000
  const backoffMs = t.backoffMs ?? 500
  const sleep = t.sleep ?? defaultSleep
  /** origin → time before which we should not send (x-ratelimit-remaining reached 0) */
  const pausedUntil = new Map<string, number>()
  let count = 0

  async function send(method: Method, url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const target = new URL(url)
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) target.searchParams.set(k, String(v))
    const label = opts.label ?? `${method} ${target.pathname}`
    if (t.dryRun && method !== 'GET' && method !== 'HEAD') {
      t.dryRun.skipped(`${method} ${target.origin}${target.pathname}${opts.body === undefined ? '' : ` ${summarize(opts.body)}`}`)
      return { status: 0, headers: {}, json: undefined, text: '', skipped: true }
    }
    const baseHeaders: Record<string, string> = { accept: 'application/json', ...opts.headers }
    let payload: string | undefined
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body)
      baseHeaders['content-type'] = 'application/json'
    }
    for (let attempt = 0; ; attempt++) {
      const wait = (pausedUntil.get(target.origin) ?? 0) - Date.now()
      if (wait > 0) {
        log.debug(`${target.origin}: rate-limit window exhausted, waiting ${Math.ceil(wait / 1000)} s`)
        await sleep(wait)
      }
      // after a wait the credentials may be due for renewal: asked for again before every attempt
      const headers = opts.authorize ? { ...baseHeaders, ...(await opts.authorize()) } : baseHeaders
      // undici is loaded on the first request: tasks that never call an API do not pay for it
      const { request: undiciRequest } = await import('undici')
      const started = Date.now()
      let res: Dispatcher.ResponseData
      count++
      try {
        res = await undiciRequest(target, {
          method,
          headers,
          body: payload,
          dispatcher: t.dispatcher,
          headersTimeout: opts.timeoutMs ?? t.timeoutMs ?? 30_000,
          bodyTimeout: opts.timeoutMs ?? t.timeoutMs ?? 30_000,
        })
      } catch (err) {
        const code = (err as { code?: string }).code ?? ''
        if (/TIMEOUT/.test(code)) throw new HttpError('timeout', method, target.href, `${label}: no answer from ${target.origin} within ${Math.round((opts.timeoutMs ?? t.timeoutMs ?? 30_000) / 1000)} s`, { hint: 'the server is slow or hung; try again later (timeouts are never retried automatically)' })
        if (IDEMPOTENT.has(method) && attempt < maxRetries && /ECONNRESET|UND_ERR_SOCKET|EPIPE/.test(code + String((err as Error).message))) {
          await sleep(backoff(attempt, backoffMs))
          continue
        }
        throw new HttpError('unreachable', method, target.href, `cannot reach ${target.origin}: ${code || (err as Error).message}`, { hint: 'check the URL and that the server is running and reachable from here' })
      }
      const text = await res.body.text()
      const resHeaders = flatHeaders(res.headers)
      log.debug(`${method} ${redact(target.origin + target.pathname)} → ${res.statusCode} (${Date.now() - started} ms)`)
      noteRateLimit(target.origin, resHeaders, pausedUntil, maxWaitMs)
      const retryable = RETRYABLE.has(res.statusCode) && !opts.noRetry?.includes(res.statusCode) && (IDEMPOTENT.has(method) || (res.statusCode === 429 && opts.retry429Always))
      if (retryable && attempt < maxRetries) {
        const after = retryAfterMs(resHeaders)
        if (res.statusCode === 429 && after !== undefined && after > maxWaitMs)
          throw new HttpError('rate-limited', method, target.href, `${label}: rate limited by ${target.origin}; retry after ${Math.ceil(after / 1000)} s`, { status: 429, hint: 'wait and run the task again' })
        const delay = (after ?? backoff(attempt, backoffMs)) + Math.floor(Math.random() * 250)
        log.debug(`${label}: ${res.statusCode}, retrying in ${Math.ceil(delay / 1000)} s (attempt ${attempt + 2})`)
        await sleep(delay)
        continue
      }
      if (res.statusCode === 429) {
        const after = retryAfterMs(resHeaders)
        throw new HttpError('rate-limited', method, target.href, `${label}: rate limited by ${target.origin}${after !== undefined ? `; retry after ${Math.ceil(after / 1000)} s` : ''}`, { status: 429, hint: 'wait and run the task again' })
      }
      return { status: res.statusCode, headers: resHeaders, json: parseJson(text, resHeaders), text }
    }
  }
  return {
    send,
    get count() {
      return count
    },
  }
}

/** Validates a response body with zod at the service edge; a mismatch names the endpoint and fields. */
export function parseBody<S extends z.ZodType>(schema: S, res: HttpResponse, label: string): z.infer<S> {
  if (res.json === undefined)
    throw new HttpError('bad-response', label.split(' ')[0], label, `${label}: expected JSON, got ${res.headers['content-type'] || 'no content type'} (HTTP ${res.status})`, {
      status: res.status,
      hint: 'is the base URL right? An HTML page usually means a proxy or web UI answered instead of the API',
    })
  const r = schema.safeParse(res.json)
  if (r.success) return r.data
  const issues = r.error.issues.slice(0, 4).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
  throw new HttpError('bad-response', label.split(' ')[0], label, `${label}: unexpected response shape (${issues.join('; ')})`, { status: res.status, hint: 'the server may run an unsupported version' })
}

function parseJson(text: string, headers: Record<string, string>): unknown {
  if (!text) return undefined
  const ct = headers['content-type'] ?? ''
  if (ct && !/json/i.test(ct)) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
  return out
}

function retryAfterMs(h: Record<string, string>): number | undefined {
  const ra = h['retry-after']
  if (ra !== undefined) {
    const s = Number(ra)
    if (Number.isFinite(s)) return Math.max(0, s * 1000)
    const date = Date.parse(ra)
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now())
  }
  const reset = Number(h['x-ratelimit-reset'])
  if (Number.isFinite(reset) && h['x-ratelimit-reset'] !== undefined) return Math.max(0, reset * 1000)
  return undefined
}

function noteRateLimit(origin: string, h: Record<string, string>, pausedUntil: Map<string, number>, maxWaitMs: number): void {
  if (h['x-ratelimit-remaining'] !== '0') return
  const reset = Number(h['x-ratelimit-reset'])
  if (Number.isFinite(reset) && reset * 1000 <= maxWaitMs) pausedUntil.set(origin, Date.now() + reset * 1000)
}

function backoff(attempt: number, base: number): number {
  return Math.min(base * 2 ** attempt, 30_000)
}

/** A body described without values: keys and sizes, never secret content. */
function summarize(body: unknown): string {
  if (Array.isArray(body)) return `[${body.length} items]`
  if (body && typeof body === 'object') return `{${Object.keys(body).join(', ')}}`
  return typeof body
}

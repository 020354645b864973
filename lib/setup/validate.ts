// The rules a setup answer must meet, shared by the prompts (validate), the flags and the answers file: pure,
// each returns the problem in a few words, or undefined when the value is fine.
import { DOMAIN } from '../model/x-fields.ts'

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/

export function domainProblem(v: string): string | undefined {
  const d = v.trim().toLowerCase()
  if (!d) return 'required'
  if (/^[a-z]+:\/\//.test(d) || d.includes('/') || d.includes(':')) return 'the bare domain only, e.g. example.com (no scheme, port or path)'
  return DOMAIN.test(d) ? undefined : 'not a domain name, e.g. example.com'
}

export function emailProblem(v: string): string | undefined {
  return EMAIL.test(v.trim()) ? undefined : 'an email address, e.g. you@example.com'
}

/** A comma-separated list of email addresses (at least one). */
export function emailsProblem(v: string): string | undefined {
  const list = v.split(/[\s,]+/).filter(Boolean)
  if (!list.length) return 'at least one email address'
  const bad = list.find((e) => !EMAIL.test(e))
  return bad ? `"${bad}" is not an email address` : undefined
}

export function emailDomainProblem(v: string): string | undefined {
  return DOMAIN.test(v.trim().toLowerCase().replace(/^@/, '')) ? undefined : 'a domain, e.g. example.com'
}

export function urlProblem(v: string): string | undefined {
  try {
    const u = new URL(v.trim())
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'an http(s) URL'
  } catch {
    return 'a URL such as https://infisical.example.com'
  }
}

export function requiredProblem(v: string): string | undefined {
  return v.trim() ? undefined : 'required'
}

export function adminPasswordProblem(v: string): string | undefined {
  return v.length >= 14 ? undefined : 'at least 14 characters'
}

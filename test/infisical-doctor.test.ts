// doctor's Infisical check: a SITE_URL that does not match what the environment serves (a login loop).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { infisicalRepo } from './infisical-helpers.ts'

const check = async (envLines: string[]) => {
  const r = await infisicalRepo({ envLines })
  try {
    const d = await r.repo.run('doctor.ts', ['--json'])
    return JSON.parse(d.stdout).checks.find((c: { id: string }) => c.id === 'infisical') as { status: string; summary: string; findings: Array<{ status: string; message: string }> }
  } finally {
    await r.cleanup()
  }
}

test('doctor: an http SITE_URL in the public environment fails (login loop); the derived one passes', async () => {
  const bad = await check(['STACKYARD_PROFILES=infisical', 'STACKYARD_ENVIRONMENT=public', 'DOMAIN=example.com', 'INFISICAL_SITE_URL=http://infisical.example.com'])
  assert.equal(bad.status, 'fail')
  assert.match(bad.findings[0].message, /serves Infisical at https:\/\/infisical\.example\.com; with HTTPS_ENABLED=true its session cookie will not stick/)
  const good = await check(['STACKYARD_PROFILES=infisical', 'STACKYARD_ENVIRONMENT=public', 'DOMAIN=example.com'])
  assert.equal(good.status, 'ok')
  assert.equal(good.summary, 'the bundled instance serves https://infisical.example.com')
})

test('doctor: a half-set machine identity and a pattern in INFISICAL_SYNC_EXCLUDE are reported', async () => {
  const c = await check(['INFISICAL_CLIENT_ID=', 'INFISICAL_SYNC_EXCLUDE=*_TOKEN'].concat([]))
  assert.equal(c.status, 'fail')
  assert.ok(c.findings.some((f) => /INFISICAL_SYNC_EXCLUDE: "\*_TOKEN" is not a variable name/.test(f.message)))
})

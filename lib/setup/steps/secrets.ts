// Setup step 6, secrets: every declared secret that is missing is generated in its declared format; an existing one
// is never changed unless --rotate names it (derived JWTs are re-signed with it); a required external one (a token
// you supply) is asked for with a masked prompt. Queues the values for .env; prints none.
import { planSecrets } from '../../model/secrets.ts'
import type { SetupContext } from '../context.ts'

type Ctx = Pick<SetupContext, 'answers' | 'given' | 'registry' | 'planned' | 'secret' | 'setEnv' | 'warnings' | 'log'>

const FORMAT: Record<string, string> = { hex: 'hex', base64: 'base64', base64url: 'base64url', password: 'password', uuid: 'UUID', jwt: 'JWT' }

export async function secrets(ctx: Ctx): Promise<void> {
  ctx.answers.rotate = ctx.given.rotate
  const decls = [...ctx.registry.secrets.values()]
  for (const d of decls.filter((x) => x.spec.format === 'external' && !x.spec.optional)) {
    const value = await ctx.secret(d.key, {
      message: `${d.key}: ${d.spec.description}`,
      what: d.spec.description,
      validate: (v) => (!v.trim() ? 'required' : d.spec.format === 'external' && d.spec.pattern && !new RegExp(d.spec.pattern).test(v) ? `must match ${d.spec.pattern}` : undefined),
    })
    if (value !== undefined) ctx.setEnv(d.key, value, { secret: true })
  }
  const plan = planSecrets(decls, ctx.planned(), { rotate: ctx.answers.rotate })
  for (const item of plan.items) {
    const value = plan.changes[item.key]
    if (value !== undefined) {
      const spec = ctx.registry.secrets.get(item.key)!.spec
      const size = 'bytes' in spec ? `, ${spec.bytes} bytes` : 'length' in spec ? `, ${spec.length} characters` : ''
      ctx.setEnv(item.key, value, { secret: true, note: `${item.action === 'create' ? 'generated' : item.action === 'rotate' ? 'rotated' : 're-signed'} (${FORMAT[item.format] ?? item.format}${size})` })
    }
    const refuse = ctx.registry.secrets.get(item.key)?.spec.rotate
    if (item.action === 'invalid')
      ctx.warnings.push(`${item.key} is kept although it ${item.reason}: it may protect stored data; ${refuse ? `it cannot be replaced in place: ${refuse.procedure}` : `--rotate ${item.key} replaces it`}`)
  }
  const created = plan.items.filter((i) => i.action === 'create').length
  const kept = plan.items.filter((i) => i.format !== 'external' && (i.action === 'keep' || i.action === 'invalid')).length
  ctx.log.info(`secrets: ${created} to generate, ${kept} kept as they are${ctx.answers.rotate?.length ? `, rotating ${ctx.answers.rotate.join(', ')}` : ''}`)
}

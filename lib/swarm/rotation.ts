// How a secret rotation reaches services under swarm: commands in the running task's container (swarmAccess), and a
// changed value brought to the services by deploying the stack again (up: a new content-hashed Docker secret, the
// services that use it rolled to it and waited for, the old secret removed once nothing uses it).
import { FailureError } from '../core/errors.ts'
import type { StackCtx } from '../docker/platform.ts'
import type { RotationReach } from '../stacks/secret-rotation.ts'
import { swarmAccess } from './access.ts'
import { requireManager } from './state.ts'
import { swarmUp } from './up.ts'

export async function swarmRotationReach(ctx: StackCtx): Promise<RotationReach> {
  await requireManager(ctx.exec)
  return {
    access: (p) => swarmAccess(ctx, p),
    async recreate(_p, r, timeout) {
      const report = await swarmUp(ctx, { stacks: [r.stack], skipInfisical: false, timeout })
      const failed = report.stacks.find((s) => s.status !== 'ok')
      if (failed) throw new FailureError(`${r.stack}/{${r.services.join(',')}} did not come back healthy within ${timeout}s: ${failed.because ?? failed.status}`)
    },
  }
}

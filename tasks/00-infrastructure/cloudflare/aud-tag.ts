// Print the AUD tag of the Access application protecting HOST (a full hostname, or a subdomain of DOMAIN),
// for services that validate the Cf-Access-Jwt-Assertion header themselves. Data on stdout; reads only.
// Usage: npx zx tasks/00-infrastructure/cloudflare/aud-tag.ts HOST [--json]
import { task } from '../../../lib/task/task.ts'
import { audTagTask } from '../../../lib/cloudflare/check-tasks.ts'

export default await task({
  summary: 'Print the Access AUD tag of a hostname',
  args: [{ name: 'host', help: 'hostname (n8n.example.com) or subdomain (n8n)', required: true }],
  json: true,
  examples: ['npx zx tasks/00-infrastructure/cloudflare/aud-tag.ts n8n'],
  run: (ctx) => audTagTask(ctx, String(ctx.args.host)),
}, import.meta)

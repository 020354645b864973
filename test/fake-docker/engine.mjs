// The fake Docker engine as a function: one call (argv, cwd, environment, stdin) in, its exit code, stdout and
// stderr out. test/fake-docker/docker (the `docker` tests put first on PATH) is a thin wrapper over it, and tests that
// run tasks in-process call it directly (test/helpers/fake-spawner.ts): both behave the same.
// A fake `docker` for tests: put test/fake-docker first on PATH. No Docker engine is needed.
// - FAKE_DOCKER_LOG: file that gets one JSON line per call: {argv, cwd, stdinBytes, env}
// - FAKE_DOCKER_RULES: JSON file, an array of {match: [substrings…] | regex: "…", stdout, stderr, exit, times}
//   The first rule whose substrings all occur in the joined argv (or whose regex matches) answers;
//   `times` limits how often a rule applies (tracked in the state file).
// - FAKE_DOCKER_STATE: JSON file keeping the engine's state between calls, so that later calls answer like a real
//   engine would: networks, projects → containers (image, image id, state, health, health log), local images (tags →
//   ids, repo digests), `remote` (what a pull would fetch: {ref: {id, digest}}), `fail` ({project: {service, output,
//   logs, imageId?}}: that service turns unhealthy on `up`, which exits 1; with imageId, only while it runs that image), `logs` ({"project/service": text}).
// - FAKE_DOCKER_ENV_KEYS: comma-separated env names to record in the log (values included: use only
//   for non-secret variables such as DOCKER_CONTEXT).
// Compose calls behave like Compose where tests depend on it: -f and --env-file resolve against the cwd and must
// exist; env files layer (later wins, the shell wins over all) and interpolate the compose files (${X:?msg} fails);
// profiles enable services; up keeps a container whose image did not change; down removes the containers of the
// services the profiles enable (and orphans with --remove-orphans), so a down without --profile leaves profiled
// containers behind, as the real one does.
// - Docker contexts: the global `--context NAME` flag picks an engine; every engine but `default` keeps its own state
//   file (<FAKE_DOCKER_STATE without .json>.<NAME>.json). FAKE_DOCKER_CONTEXTS=edge-1,edge-2 lists the contexts that
//   exist besides `default`; any other name fails as the real CLI does. The log line keeps the full argv.
// - Volumes: `compose up` (also `up --no-start`) creates the named volumes of the services it creates, labelled with
//   project and volume key; `volume ls --filter label=…` finds them; `run --rm -v VOL:/x IMAGE tar -c…` prints a
//   volume's archive and `run --rm -i -v VOL:/x IMAGE sh -c '… tar -x…'` (or `cat > FILE`, the name maybe given as
//   "$1" after the script) stores stdin into it.
// - Data in services: PostgreSQL (psql listing/creating databases, pg_dumpall --globals-only, pg_dump, psql reading
//   a dump on stdin; role passwords as set on the first up, checked by a login and changed by ALTER ROLE, both through
//   `sh -c` scripts with the password on stdin), n8n's settings file (written on its first up, read by `cat`) and Valkey/Redis (`--rdb -`) keep what was restored, so a backup after a restore matches.
// - Swarm: the engine is not part of one (`info --format '{{.Swarm.LocalNodeState}}'` says inactive).
// Without a rule, defaults answer version/info/network/image/compose calls plausibly and exit 0.
import { appendFileSync, readFileSync, writeFileSync, existsSync, openSync, closeSync, unlinkSync } from 'node:fs'
import { resolve } from 'node:path'
import { createRequire } from 'node:module'
import { createHash } from 'node:crypto'

/** how a call ends: thrown by finish() so that nothing after it runs, as process.exit did */
class Done {
  constructor(code, stdout, stderr) {
    this.code = code
    this.stdout = stdout
    this.stderr = stderr
  }
}

/**
 * One docker call: {argv (after `docker`), cwd, env (the caller's whole environment), stdin (a Buffer)} →
 * {code, stdout (a Buffer), stderr}. Calls sharing a state file run one at a time (a lock file), across processes too.
 */
export async function dockerCall(call) {
  const callEnv = call.env
  const cwd = call.cwd
  let lockPath
  try {
    return await answer()
  } catch (err) {
    if (err instanceof Done) return { code: err.code, stdout: err.stdout, stderr: err.stderr }
    if (lockPath) try { unlinkSync(lockPath) } catch {}
    throw err
  }
  async function answer() {
    const rawArgv = [...call.argv]
    // the docker CLI's global flags come before the subcommand: `docker --context edge-1 compose …`
    let context
    let argv = rawArgv
    for (;;) {
      if (argv[0] === '--context' || argv[0] === '-c') { context = argv[1]; argv = argv.slice(2); continue }
      if (argv[0]?.startsWith('--context=')) { context = argv[0].slice('--context='.length); argv = argv.slice(1); continue }
      break
    }
    const joined = argv.join(' ')
    const knownContexts = ['default', ...(callEnv.FAKE_DOCKER_CONTEXTS ?? '').split(',').filter(Boolean)]
    if (context !== undefined && !knownContexts.includes(context)) {
      if (callEnv.FAKE_DOCKER_LOG) appendFileSync(callEnv.FAKE_DOCKER_LOG, JSON.stringify({ argv: rawArgv, cwd, stdinBytes: 0, env: {} }) + '\n')
      return { code: 1, stdout: Buffer.alloc(0), stderr: `Failed to initialize: unable to resolve docker endpoint: context "${context}": context not found\n` }
    }
    const baseState = callEnv.FAKE_DOCKER_STATE
    const statePath = baseState && context && context !== 'default' ? `${baseState.replace(/\.json$/, '')}.${context}.json` : baseState
    // FAKE_DOCKER_BARRIER=projA,projB: a `compose … up` of one of these projects records its arrival and waits (before
    // taking the lock) until every project listed has arrived, or fails after 20 s: proof those ups were in flight together.
    if (callEnv.FAKE_DOCKER_BARRIER && callEnv.FAKE_DOCKER_LOG && argv.includes('compose') && argv.includes('up')) {
      const group = callEnv.FAKE_DOCKER_BARRIER.split(',')
      const me = argv[argv.indexOf('--project-name') + 1]
      if (group.includes(me)) {
        const arrivals = `${callEnv.FAKE_DOCKER_LOG}.barrier`
        appendFileSync(arrivals, me + '\n')
        const deadline = Date.now() + 20_000
        for (;;) {
          const called = new Set(readFileSync(arrivals, 'utf8').split('\n').filter(Boolean))
          if (group.every((g) => called.has(g))) break
          if (Date.now() > deadline) {
            return { code: 1, stdout: Buffer.alloc(0), stderr: `fake docker: barrier timeout: ${me} ran alone (waited for ${group.filter((g) => !called.has(g)).join(', ')})\n` }
          }
          await new Promise((r) => setTimeout(r, 20)) // other calls of this process may be the ones to arrive
        }
      }
    }

    // Calls that share a state file run one at a time: independent stacks start concurrently, and two calls that each
    // read the state and write it back would otherwise lose one another's changes. A holder that died leaves the lock
    // behind; it is taken over after 10 s.
    lockPath = statePath ? `${statePath}.lock` : undefined
    if (lockPath) {
      const pause = new Int32Array(new SharedArrayBuffer(4))
      for (let waited = 0; ; waited += 5) {
        try {
          closeSync(openSync(lockPath, 'wx'))
          break
        } catch (err) {
          if (err.code !== 'EEXIST') throw err
          if (waited >= 10_000) {
            try { unlinkSync(lockPath) } catch {}
            waited = 0
          }
          Atomics.wait(pause, 0, 0, 5)
        }
      }
    }
    const state = statePath && existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : {}
    state.networks ??= []
    state.projects ??= {}
    state.ruleUses ??= {}
    state.images ??= {} // id → {Id, RepoTags, RepoDigests}
    state.tags ??= {} // ref → id
    state.remote ??= {} // ref → {id, digest}
    state.fail ??= {}
    state.logs ??= {}
    state.volumes ??= {} // name → {project, volume, content (base64 archive), files: {name: base64}}
    state.data ??= {} // "project/service" → {databases: {name: {owner, dump}}, globals}

    const stdinBuf = call.stdin ?? Buffer.alloc(0)
    const stdin = stdinBuf.toString('utf8')

    if (callEnv.FAKE_DOCKER_LOG) {
      const env = {}
      for (const k of (callEnv.FAKE_DOCKER_ENV_KEYS ?? '').split(',').filter(Boolean)) env[k] = callEnv[k]
      // stdinHead / stdinRestSha256: the first line and the sha256 of what follows it (a psql load behind \restrict KEY)
      const nl = stdinBuf.indexOf(0x0a)
      const head = nl === -1 ? {} : { stdinHead: stdinBuf.subarray(0, Math.min(nl, 200)).toString('utf8'), stdinRestSha256: createHash('sha256').update(stdinBuf.subarray(nl + 1)).digest('hex') }
      appendFileSync(callEnv.FAKE_DOCKER_LOG, JSON.stringify({ argv: rawArgv, cwd, stdinBytes: stdinBuf.length, env, ...(stdinBuf.length ? { stdinSha256: createHash('sha256').update(stdinBuf).digest('hex'), ...head } : {}) }) + '\n')
    }

    /** ends the call with raw bytes on stdout (archives, RDB snapshots): nothing runs after it */
    function finishRaw(bytes) {
      if (statePath) writeFileSync(statePath, JSON.stringify(state, null, 2))
      if (lockPath) try { unlinkSync(lockPath) } catch {}
      throw new Done(0, bytes, '')
    }

    function finish(stdout = '', stderr = '', code = 0) {
      if (statePath) writeFileSync(statePath, JSON.stringify(state, null, 2))
      if (lockPath) try { unlinkSync(lockPath) } catch {}
      throw new Done(code, Buffer.from(stdout && !stdout.endsWith('\n') ? stdout + '\n' : stdout), stderr && !stderr.endsWith('\n') ? stderr + '\n' : stderr)
    }

    // 1. scripted rules
    if (callEnv.FAKE_DOCKER_RULES && existsSync(callEnv.FAKE_DOCKER_RULES)) {
      const rules = JSON.parse(readFileSync(callEnv.FAKE_DOCKER_RULES, 'utf8'))
      for (const [i, rule] of rules.entries()) {
        const hit = rule.regex ? new RegExp(rule.regex).test(joined) : (rule.match ?? []).every((m) => joined.includes(m))
        if (!hit) continue
        const used = state.ruleUses[i] ?? 0
        if (rule.times !== undefined && used >= rule.times) continue
        state.ruleUses[i] = used + 1
        finish(rule.stdout ?? '', rule.stderr ?? '', rule.exit ?? 0)
      }
    }

    // 2. defaults
    const flagValue = (name, list = argv) => {
      const out = []
      list.forEach((a, i) => {
        if (a === name && list[i + 1] !== undefined) out.push(list[i + 1])
        else if (a.startsWith(name + '=')) out.push(a.slice(name.length + 1))
      })
      return out
    }
    const sha = (s) => 'sha256:' + createHash('sha256').update(s).digest('hex')
    const repoOf = (ref) => {
      const noDigest = ref.split('@')[0]
      const slash = noDigest.lastIndexOf('/')
      const colon = noDigest.lastIndexOf(':')
      return colon > slash ? noDigest.slice(0, colon) : noDigest
    }
    /** the local image a reference or id names */
    const localImage = (refOrId) => {
      if (state.images[refOrId]) return state.images[refOrId]
      const byPrefix = Object.keys(state.images).find((id) => id.replace('sha256:', '').startsWith(refOrId.replace('sha256:', '')) && refOrId.replace('sha256:', '').length >= 12)
      if (byPrefix) return state.images[byPrefix]
      const id = state.tags[refOrId]
      return id ? state.images[id] : undefined
    }
    const addImage = (id, ref, digest) => {
      const img = (state.images[id] ??= { Id: id, RepoTags: [], RepoDigests: [] })
      if (ref) {
        const prev = state.tags[ref]
        if (prev && prev !== id && state.images[prev]) state.images[prev].RepoTags = state.images[prev].RepoTags.filter((t) => t !== ref)
        state.tags[ref] = id
        if (!img.RepoTags.includes(ref)) img.RepoTags.push(ref)
      }
      if (digest && !img.RepoDigests.includes(digest)) img.RepoDigests.push(digest)
      return img
    }
    /** pulls a reference: the remote's current image, or a stable one derived from the name */
    const pullRef = (ref) => {
      const remote = state.remote[ref]
      if (remote) return addImage(remote.id, ref, remote.digest)
      if (state.tags[ref]) return state.images[state.tags[ref]]
      return addImage(sha('image ' + ref), ref, `${repoOf(ref)}@${sha('manifest ' + ref)}`)
    }
    const containers = () => Object.entries(state.projects).flatMap(([project, p]) => Object.entries(p.services ?? {}).map(([service, c]) => ({ project, service, c, name: `${project}-${service}-1` })))

    if (argv[0] === '--version' || (argv[0] === 'version' && argv.length === 1)) finish('Docker version 28.2.2, build e6534b4')
    if (argv[0] === 'version') finish('28.2.2')
    if (argv[0] === 'context') {
      const endpoint = (name) => (name === 'default' ? 'unix:///var/run/docker.sock' : `ssh://stackyard@${name}.example.test`)
      if (argv[1] === 'ls') finish(knownContexts.map((n) => JSON.stringify({ Name: n, DockerEndpoint: endpoint(n), Current: n === 'default' })).join('\n'))
      if (argv[1] === 'inspect') {
        const names = argv.slice(2).filter((a) => !a.startsWith('-'))
        const name = names[0] ?? context ?? 'default'
        if (!knownContexts.includes(name)) finish('[]', `context "${name}" does not exist`, 1)
        finish(JSON.stringify([{ Name: name, Endpoints: { docker: { Host: endpoint(name), SkipTLSVerify: false } } }]))
      }
    }
    if (argv[0] === 'volume') {
      const filters = flagValue('--filter').map((f) => f.replace(/^label=/, ''))
      const matches = (name, v) => filters.every((f) => {
        const [k, val] = f.split('=')
        if (k === 'com.docker.compose.project') return v.project === val
        if (k === 'com.docker.compose.volume') return v.volume === val
        if (k === 'name') return name.includes(val)
        return true
      })
      if (argv[1] === 'ls') finish(Object.entries(state.volumes).filter(([n, v]) => matches(n, v)).map(([n]) => n).join('\n'))
      if (argv[1] === 'inspect') {
        const name = argv[argv.length - 1]
        if (!state.volumes[name]) finish('[]', `Error response from daemon: get ${name}: no such volume`, 1)
        finish(JSON.stringify([{ Name: name, Labels: { 'com.docker.compose.project': state.volumes[name].project, 'com.docker.compose.volume': state.volumes[name].volume } }]))
      }
      if (argv[1] === 'rm') {
        for (const n of argv.slice(2).filter((a) => !a.startsWith('-'))) delete state.volumes[n]
        finish()
      }
    }
    if (argv[0] === 'run') {
      // throwaway containers: docker run --rm [-i] [--network none] -v VOLUME:/path[:ro] IMAGE command…
      const withValue = new Set(['-v', '--volume', '--network', '--entrypoint', '-e', '--env', '-u', '--user', '-w', '--workdir', '--name', '--pull', '--security-opt', '--cap-add', '--cap-drop'])
      let at = 1
      while (at < argv.length && argv[at].startsWith('-')) at += withValue.has(argv[at]) ? 2 : 1
      const image = argv[at]
      const cmd = argv.slice(at + 1)
      // `sh -c SCRIPT sh ARG…`: the script sees its arguments as "$1"…, and simple `name="…"` assignments, as sh expands
      // them (as data: the fake only reads the result, it never runs it)
      let text = cmd.join(' ')
      if (cmd[0] === 'sh' && cmd[1] === '-c' && cmd.length > 3) {
        let script = cmd[2].replace(/\$(\d)/g, (_, n) => cmd[3 + Number(n)] ?? '')
        for (const [, name, value] of script.matchAll(/(\w+)="([^"]*)"/g)) script = script.replaceAll(`"$${name}"`, value).replaceAll(`$${name}`, value)
        text = ['sh', '-c', script.replace(/"/g, '')].join(' ')
      }
      const mounts = flagValue('-v').map((m) => { const [src, dst, mode] = m.split(':'); return { src, dst, ro: mode === 'ro' } })
      if (!image) finish('', '"docker run" requires at least 1 argument.', 1)
      pullRef(image)
      const vol = mounts.find((m) => !m.src.startsWith('/'))
      if (vol && !state.volumes[vol.src]) state.volumes[vol.src] = { project: '', volume: '', files: {} }
      const v = vol && state.volumes[vol.src]
      if (v && /tar\b.*-c/.test(text) && !/-x/.test(text)) finishRaw(v.content ? Buffer.from(v.content, 'base64') : Buffer.from(`fake archive of volume ${vol.src}\n`))
      if (v && /tar\b.*-x/.test(text)) {
        if (vol.ro) finish('', 'tar: read-only file system', 2)
        v.content = stdinBuf.toString('base64')
        v.files = {}
        finish()
      }
      const cat = /cat > (\S+)/.exec(text)
      if (v && cat) {
        if (vol.ro) finish('', 'sh: read-only file system', 1)
        v.files ??= {}
        const mv = /mv -f \S+ (\S+)/.exec(text)
        v.files[(mv ? mv[1] : cat[1]).split('/').pop()] = stdinBuf.toString('base64')
        finish()
      }
      finish()
    }
    // an engine that is not part of a swarm: `info --format` with the .Swarm fields answers as Docker does for one
    if (argv[0] === 'info' && argv.includes('--format') && argv[argv.indexOf('--format') + 1].includes('.Swarm.'))
      finish(argv[argv.indexOf('--format') + 1].replace('{{.Swarm.LocalNodeState}}', 'inactive').replace('{{.Swarm.ControlAvailable}}', 'false').replace('{{.Swarm.NodeID}}', ''))
    // as the CLI prints it (20.10+): the client's plugins, Compose among them, next to the server's facts
    if (argv[0] === 'info') finish(JSON.stringify({ ServerVersion: '28.2.2', Runtimes: { runc: { path: 'runc' } }, OperatingSystem: 'Fake Linux', ClientInfo: { Plugins: [{ SchemaVersion: '0.1.0', Vendor: 'Docker Inc.', Version: 'v2.39.1', ShortDescription: 'Docker Compose', Name: 'compose', Path: '/usr/libexec/docker/cli-plugins/docker-compose' }] } }))
    if (argv[0] === 'network') {
      const name = argv[argv.length - 1]
      if (argv[1] === 'inspect') {
        if (state.networks.includes(name)) finish(JSON.stringify([{ Name: name, Driver: 'bridge' }]))
        finish('[]', `Error response from daemon: network ${name} not found`, 1)
      }
      if (argv[1] === 'create') {
        if (state.networks.includes(name)) finish('', `Error response from daemon: network with name ${name} already exists`, 1)
        state.networks.push(name)
        finish('0123456789ab')
      }
      if (argv[1] === 'ls') finish(state.networks.join('\n'))
    }
    if ((argv[0] === 'image' && argv[1] === 'inspect') || (argv[0] === 'inspect' && argv.includes('--type=image'))) {
      const names = argv.slice(2).filter((a) => !a.startsWith('-'))
      const found = names.map(localImage)
      if (found.some((f) => !f)) finish('[]', `Error response from daemon: No such image: ${names[found.findIndex((f) => !f)]}`, 1)
      finish(JSON.stringify(found))
    }
    if (argv[0] === 'tag' || (argv[0] === 'image' && argv[1] === 'tag')) {
      const [src, dst] = argv.slice(argv[0] === 'tag' ? 1 : 2)
      const img = localImage(src)
      if (!img) finish('', `Error response from daemon: No such image: ${src}`, 1)
      addImage(img.Id, dst)
      finish()
    }
    if (argv[0] === 'pull' || (argv[0] === 'image' && argv[1] === 'pull')) {
      const ref = argv[argv.length - 1]
      if (ref.includes('@sha256:')) {
        const hit = Object.values(state.remote).concat(state.remoteHistory ?? []).find((r) => r.digest === ref)
        if (!hit) finish('', `Error response from daemon: manifest for ${ref} not found: manifest unknown`, 1)
        addImage(hit.id, undefined, hit.digest)
        finish(`Status: Downloaded newer image for ${ref}`)
      }
      pullRef(ref)
      finish(`Status: Image is up to date for ${ref}`)
    }
    if (argv[0] === 'inspect') {
      const names = argv.slice(1).filter((a) => !a.startsWith('-'))
      const all = containers()
      const found = names.map((n) => all.find((c) => c.name === n || c.c.id === n))
      const rows = found.filter(Boolean).map(({ name, c }) => ({
        Id: c.id ?? sha(name).slice(7, 71),
        Name: '/' + name,
        Image: c.imageId,
        Config: { Image: c.image },
        State: { Status: c.state, Running: c.state === 'running', ExitCode: c.state === 'running' ? 0 : 1, Error: '', ...(c.health ? { Health: { Status: c.health, FailingStreak: c.health === 'unhealthy' ? 3 : 0, Log: c.healthLog ?? [] } } : {}) },
      }))
      if (rows.length < names.length) finish(JSON.stringify(rows), `Error: No such object: ${names.find((n, i) => !found[i])}`, 1)
      finish(JSON.stringify(rows))
    }

    if (argv.includes('compose')) {
      const ci = argv.indexOf('compose')
      const rest = argv.slice(ci + 1)
      if (rest[0] === 'version') finish(rest.includes('--short') ? '2.39.1' : 'Docker Compose version v2.39.1')
      const globalsWithValue = new Set(['-p', '--project-name', '-f', '--file', '--profile', '--env-file', '--project-directory', '--ansi', '--progress', '--parallel'])
      let subAt = -1
      for (let i = 0; i < rest.length; i++) {
        if (globalsWithValue.has(rest[i])) { i++; continue }
        if (rest[i].startsWith('-')) continue
        subAt = i
        break
      }
      const globals = subAt === -1 ? rest : rest.slice(0, subAt)
      const sub = subAt === -1 ? undefined : rest[subAt]
      const subArgs = subAt === -1 ? [] : rest.slice(subAt + 1)
      const project = flagValue('-p', globals)[0] ?? flagValue('--project-name', globals)[0]
      const files = [...flagValue('-f', globals), ...flagValue('--file', globals)].map((f) => resolve(cwd, f))
      const envFiles = flagValue('--env-file', globals).map((f) => resolve(cwd, f))
      const profiles = flagValue('--profile', globals)
      for (const f of files) if (!existsSync(f)) finish('', `open ${f}: no such file or directory`, 1)
      for (const f of envFiles) if (!existsSync(f)) finish('', `couldn't find env file: ${f}`, 1)

      // env files layered as Compose does: later files win, the shell wins over every file
      const fileEnv = {}
      for (const f of envFiles) {
        for (const raw of readFileSync(f, 'utf8').split('\n')) {
          const line = raw.replace(/^\s*export\s+/, '')
          const m = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line)
          if (!m) continue
          let v = m[2].trim()
          if (v.startsWith('"')) v = v.slice(1, v.lastIndexOf('"')).replace(/\$\$/g, '$').replace(/\\(["\\])/g, '$1').replace(/\\n/g, '\n')
          else if (v.startsWith("'")) v = v.slice(1, v.lastIndexOf("'"))
          else v = v.replace(/\s+#.*$/, '')
          fileEnv[m[1]] = v
        }
      }
      const lookup = (k) => (callEnv[k] !== undefined ? callEnv[k] : fileEnv[k])
      const interpolate = (s, where) =>
        s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, name, op, arg, bare) => {
          if (all === '$$') return '$'
          if (bare) return lookup(bare) ?? ''
          const v = lookup(name)
          const empty = v === undefined || (op?.startsWith(':') && v === '')
          if (op === ':-' || op === '-') return empty ? arg : v
          if (op === ':?' || op === '?') {
            if (empty) finish('', `error while interpolating ${where}: required variable ${name} is missing a value: ${arg}`, 1)
            return v
          }
          if (op === ':+' || op === '+') return empty ? '' : arg
          return v ?? ''
        })
      const deep = (node, where) => {
        if (typeof node === 'string') return interpolate(node, where)
        if (Array.isArray(node)) return node.map((n, i) => deep(n, `${where}.${i}`))
        if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deep(v, `${where}.${k}`)]))
        return node
      }
      const model = () => {
        const require = createRequire(import.meta.url)
        const YAML = require('yaml')
        const out = new Map()
        for (const f of files) {
          const doc = YAML.parse(readFileSync(f, 'utf8')) ?? {}
          for (const [key, def] of Object.entries(doc.volumes ?? {})) volumeNames[key] = def?.name ?? volumeNames[key] ?? `${project}_${key}`
          for (const [key, def] of Object.entries(doc.networks ?? {})) networkNames[key] = def?.name ?? networkNames[key] ?? `${project}_${key}`
          for (const [name, def] of Object.entries(doc.services ?? {})) {
            const prev = out.get(name) ?? {}
            const ports = [...(prev.ports ?? []), ...(def?.ports ?? [])]
            out.set(name, { ...prev, ...def, ...(ports.length ? { ports } : {}) })
          }
        }
        return [...out.entries()].map(([name, def]) => {
          const d = deep(def, `services.${name}`)
          const env = Array.isArray(d.environment) ? Object.fromEntries(d.environment.map((e) => [String(e).split('=')[0], String(e).split('=').slice(1).join('=')])) : (d.environment ?? {})
          const mounts = (d.volumes ?? []).flatMap((v) => {
            if (typeof v === 'string') {
              const [src, dst] = v.split(':')
              return /^[./~]/.test(src) || !dst ? [] : [{ key: src, target: dst }]
            }
            return v?.type === 'volume' && v.source ? [{ key: v.source, target: v.target }] : []
          })
          return {
            name,
            image: d.image ?? '',
            env,
            mounts,
            healthcheck: Boolean(d.healthcheck),
            networks: Array.isArray(d.networks) ? d.networks.map(String) : d.networks ? Object.keys(d.networks) : ['default'],
            enabled: !d.profiles || d.profiles.some((p) => profiles.includes(p) || profiles.includes('*')),
            ports: (d.ports ?? []).map((p) => {
              const parts = String(p).split(':')
              return parts.length === 3 ? { URL: parts[0], PublishedPort: Number(parts[1]), TargetPort: Number(parts[2]), Protocol: 'tcp' } : { URL: '0.0.0.0', PublishedPort: Number(parts[0]), TargetPort: Number(parts[parts.length - 1]), Protocol: 'tcp' }
            }),
          }
        })
      }
      const positionals = (args, withValue) => {
        const out = []
        for (let i = 0; i < args.length; i++) {
          if (withValue.includes(args[i])) { i++; continue }
          if (!args[i].startsWith('-')) out.push(args[i])
        }
        return out
      }
      const volumeNames = {}
      const networkNames = {}
      const services = files.length ? model() : []
      const enabled = services.filter((s) => s.enabled)
      const volumeOf = (key) => volumeNames[key] ?? `${project}_${key}`
      /** what a PostgreSQL service holds: its databases (name → owner, dump) and roles; defaults from its environment */
      const pgData = (s) => {
        const d = (state.data[`${project}/${s.name}`] ??= {})
        if (!d.databases) {
          const user = s.env.POSTGRES_USER || 'postgres'
          d.databases = { postgres: { owner: user } }
          if (s.env.POSTGRES_DB) d.databases[s.env.POSTGRES_DB] = { owner: user }
          for (const app of String(s.env.APP_DATABASES ?? '').split(/\s+/).filter(Boolean)) d.databases[app] = { owner: app }
        }
        return d
      }

      if (sub === 'up' && project) {
        const named = positionals(subArgs, ['--wait-timeout', '-t', '--timeout', '--scale', '--pull', '--exit-code-from'])
        const targets = named.length ? services.filter((s) => named.includes(s.name)) : enabled
        const p = (state.projects[project] ??= { services: {} })
        const now = new Date().toISOString()
        const fail = state.fail[project]
        const lines = []
        const noStart = subArgs.includes('--no-start')
        let failedNow = false
        for (const s of targets) {
          const img = state.tags[s.image] ? state.images[state.tags[s.image]] : pullRef(s.image)
          for (const m of s.mounts) state.volumes[volumeOf(m.key)] ??= { project, volume: m.key, files: {} }
          const prev = p.services[s.name]
          if (noStart) {
            if (!prev) p.services[s.name] = { image: s.image, imageId: img.Id, state: 'created', health: '', healthLog: [], since: now, ports: s.ports }
            lines.push(` Container ${project}-${s.name}-1  Created`)
            continue
          }
          // n8n writes its settings file, with the encryption key of its environment, into its data folder on its first start
          // (and keeps it: a later key does not replace it); `exec n8n cat -- PATH` reads it back
          const n8nHome = s.mounts.find((m) => m.target === '/home/node/.n8n')
          if (s.env.N8N_ENCRYPTION_KEY !== undefined && n8nHome) (state.volumes[volumeOf(n8nHome.key)].written ??= {}).config ??= JSON.stringify({ encryptionKey: s.env.N8N_ENCRYPTION_KEY }, null, '\t')
          // a PostgreSQL keeps the passwords of its first start (its entrypoint and initdb scripts read them only then)
          if (s.env.POSTGRES_PASSWORD !== undefined) {
            const d = pgData(s)
            if (!d.passwords) {
              d.passwords = { [s.env.POSTGRES_USER || 'postgres']: sha(s.env.POSTGRES_PASSWORD) }
              for (const app of String(s.env.APP_DATABASES ?? '').split(/\s+/).filter(Boolean)) d.passwords[app] = sha(s.env[`${app.toUpperCase()}_DB_PASSWORD`] ?? '')
            }
          }
          const same = prev && prev.imageId === img.Id && prev.state === 'running' && JSON.stringify(prev.ports ?? []) === JSON.stringify(s.ports) && !subArgs.includes('--force-recreate')
          const failing = fail && fail.service === s.name && (!fail.imageId || fail.imageId === img.Id)
          if (failing) failedNow = true
          p.services[s.name] = {
            image: s.image,
            imageId: img.Id,
            state: 'running',
            health: s.healthcheck ? (failing ? 'unhealthy' : 'healthy') : '',
            healthLog: failing ? [1, 2, 3].map((i) => ({ Start: now, End: now, ExitCode: 1, Output: `${fail.output ?? 'health check failed'}${i === 3 ? '' : ''}\n` })) : s.healthcheck ? [{ Start: now, End: now, ExitCode: 0, Output: 'ok\n' }] : [],
            since: same ? prev.since : now,
            ports: s.ports,
          }
          if (failing && fail.logs) state.logs[`${project}/${s.name}`] = fail.logs
          lines.push(` Container ${project}-${s.name}-1  ${same ? 'Running' : 'Recreated'}`)
        }
        if (noStart) finish('', lines.join('\n'))
        if (failedNow) finish('', [...lines, `dependency failed to start: container ${project}-${fail.service}-1 is unhealthy`].join('\n'), 1)
        finish('', lines.map((l) => l + '\n').join('') + targets.map((s) => ` Container ${project}-${s.name}-1  Healthy`).join('\n'))
      }
      if (sub === 'stop' && project) {
        const named = positionals(subArgs, ['-t', '--timeout'])
        const p = state.projects[project]
        const which = named.length ? named : enabled.map((s) => s.name)
        for (const name of which) if (p?.services[name]) { p.services[name].state = 'exited'; p.services[name].health = '' }
        finish('', which.filter((n) => p?.services[n]).map((n) => ` Container ${project}-${n}-1  Stopped`).join('\n'))
      }
      if (sub === 'down' && project) {
        const p = state.projects[project]
        if (p) {
          const inModel = new Set(services.map((s) => s.name))
          const enabledNames = new Set(enabled.map((s) => s.name))
          for (const name of Object.keys(p.services)) {
            if (enabledNames.has(name) || (subArgs.includes('--remove-orphans') && !inModel.has(name))) delete p.services[name]
          }
          if (Object.keys(p.services).length === 0) delete state.projects[project]
        }
        finish()
      }
      if (sub === 'ps' && project) {
        const p = state.projects[project]
        const rows = Object.entries(p?.services ?? {})
          .filter(([, s]) => subArgs.includes('--all') || subArgs.includes('-a') || s.state === 'running')
          .map(([name, s]) => ({
            Name: `${project}-${name}-1`, Service: name, Project: project, Image: s.image, State: s.state, Health: s.health,
            Status: s.state === 'running' ? `Up 5 minutes${s.health ? ` (${s.health})` : ''}` : 'Exited (1) 2 minutes ago', CreatedAt: s.since, ExitCode: s.state === 'running' ? 0 : 1,
            Publishers: s.ports ?? [],
            // Compose names a project's own networks <project>_<key>; external ones keep their name
            Networks: (services.find((x) => x.name === name)?.networks ?? ['default']).map((n) => networkNames[n] ?? `${project}_${n}`).join(','),
          }))
        finish(rows.map((r) => JSON.stringify(r)).join('\n'))
      }
      if (sub === 'pull' && project) {
        const lines = []
        for (const s of enabled) {
          pullRef(s.image)
          lines.push(` ${s.name} Pulled`)
        }
        finish('', lines.join('\n'))
      }
      if (sub === 'config') {
        if (subArgs.includes('--services')) finish(enabled.map((s) => s.name).join('\n'))
        if (subArgs.includes('--images')) finish(enabled.map((s) => s.image).join('\n'))
        if (subArgs.includes('json') || subArgs.includes('--format=json')) finish(JSON.stringify({ name: project, services: Object.fromEntries(enabled.map((s) => [s.name, { image: s.image }])) }))
        finish()
      }
      if (sub === 'logs' && project) {
        const named = positionals(subArgs, ['--since', '--until', '--tail', '-n'])
        const p = state.projects[project]
        const which = named.length ? named : Object.keys(p?.services ?? {})
        finish(which.map((s) => (state.logs[`${project}/${s}`] ?? `${s} started`).split('\n').filter(Boolean).map((l) => `${s}-1  | ${l}`).join('\n')).join('\n'))
      }
      if (sub === 'exec' && project) {
        // exec's own options, some with a value (-e KEY=VAL, -u user, -w dir, --index N)
        const withValue = new Set(['-e', '--env', '-u', '--user', '-w', '--workdir', '--index'])
        let at = 0
        while (at < subArgs.length && subArgs[at].startsWith('-')) at += withValue.has(subArgs[at]) ? 2 : 1
        const service = subArgs[at]
        const cmd = subArgs.slice(at + 1)
        const c = state.projects[project]?.services?.[service]
        if (!c || c.state !== 'running') finish('', `service "${service}" is not running`, 1)
        const text = cmd.join(' ')
        const svc = services.find((x) => x.name === service)
        const opt = (...names) => { const i = cmd.findIndex((a) => names.includes(a)); return i === -1 ? undefined : cmd[i + 1] }
        if (svc && cmd[0] === 'pg_dumpall') {
          const d = pgData(svc)
          const roles = [...new Set(Object.values(d.databases).map((x) => x.owner))]
          // as PostgreSQL 17.6 / 16.10 / 15.14 and later print it: \restrict … \unrestrict around the SQL, the comment last
          const key = createHash('sha256').update(`${project}/${service}/globals`).digest('hex').slice(0, 40)
          finish(d.globals ?? ['--', '-- PostgreSQL database cluster dump', '--', '', `\\restrict ${key}`, '', ...roles.map((r) => `CREATE ROLE ${r};\nALTER ROLE ${r} WITH LOGIN;`), '', `\\unrestrict ${key}`, '', '--', '-- PostgreSQL database cluster dump complete', '--', ''].join('\n'))
        }
        if (svc && cmd[0] === 'pg_dump') {
          const db = opt('-d', '--dbname')
          const d = pgData(svc)
          if (!d.databases[db]) finish('', `pg_dump: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  database "${db}" does not exist`, 1)
          // as pg_dump 17.6 / 16.10 / 15.14 and later print it: the \unrestrict line comes after the "complete" comment
          if (cmd.includes('--create') && cmd.includes('--schema-only'))
            finish(`--\n-- PostgreSQL database dump\n--\n\nCREATE DATABASE ${db} WITH TEMPLATE = template0 ENCODING = 'UTF8';\nALTER DATABASE ${db} OWNER TO ${d.databases[db].owner};\n${d.databases[db].settings ?? ''}\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k\n\n`)
          const key = createHash('sha256').update(`${project}/${service}/${db}`).digest('hex').slice(0, 40)
          finish(d.databases[db].dump ?? `--\n-- PostgreSQL database dump\n--\n\n\\restrict ${key}\n\nCREATE TABLE ${db}_data (id integer);\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${key}\n\n`)
        }
        // the constant scripts of lib/stacks/live-secrets.ts (a login over TCP) and lib/stacks/secret-rotation.ts (ALTER ROLE as the
        // superuser over the socket): the password is the first line of stdin; roles keep a hash of theirs (set on the first up)
        if (svc && cmd[0] === 'sh' && cmd[1] === '-c' && /psql/.test(cmd[2] ?? '')) {
          const d = pgData(svc)
          const password = stdin.split('\n')[0]
          if (/ALTER ROLE/.test(cmd[2])) {
            const role = cmd[5]
            if (d.passwords && !(role in d.passwords)) finish('', `psql:<stdin>:4: ERROR:  role "${role}" does not exist`, 3)
            ;(d.passwords ??= {})[role] = sha(password)
            finish('')
          }
          const role = cmd[4]
          if (d.passwords && d.passwords[role] !== sha(password)) finish('', `psql: error: connection to server at "${cmd[6]}" (172.18.0.2), port 5432 failed: FATAL:  password authentication failed for user "${role}"`, 2)
          finish('1')
        }
        if (svc && cmd[0] === 'psql') {
          const d = pgData(svc)
          const db = opt('-d', '--dbname') ?? 'postgres'
          const sql = opt('-c', '--command')
          // Infisical's root key table (lib/infisical/root-key.ts): rows a test seeded as kmsRootConfig, else Infisical has not
          // migrated this database yet and PostgreSQL says the relation does not exist
          if (sql && /kms_root_config/.test(sql)) {
            if (!d.kmsRootConfig) finish('', `ERROR:  relation "kms_root_config" does not exist\nLINE 1: ...son(k)), '[]'::json) from kms_root_config k`, 1)
            finish(JSON.stringify(d.kmsRootConfig))
          }
          if (sql && /pg_database/.test(sql)) finish(Object.entries(d.databases).sort(([a], [b]) => a.localeCompare(b)).map(([n, x]) => `${n}\t${x.owner}`).join('\n'))
          const create = sql && /CREATE DATABASE "((?:[^"]|"")+)" OWNER "((?:[^"]|"")+)"/.exec(sql)
          if (create) {
            d.databases[create[1].replace(/""/g, '"')] = { owner: create[2].replace(/""/g, '"') }
            finish('CREATE DATABASE')
          }
          if (!sql && stdinBuf.length) {
            // psql's \restrict KEY (16.10+): every later backslash command but \unrestrict KEY is refused (exit 3); COPY data
            // (up to its \. line) is data
            let loaded = stdin
            const restrict = /^\\restrict ([A-Za-z0-9]+)\n/.exec(stdin)
            if (restrict) {
              loaded = stdin.slice(restrict[0].length)
              let copy = false
              for (const line of loaded.split('\n')) {
                if (copy) { if (line === '\\.') copy = false; continue }
                if (/^COPY .* FROM stdin;$/.test(line)) { copy = true; continue }
                if (line.trimStart().startsWith('\\') && line !== `\\unrestrict ${restrict[1]}`) finish('', 'backslash commands are restricted; only \\unrestrict is allowed', 3)
              }
            }
            if (/PostgreSQL database cluster dump/.test(loaded)) d.globals = loaded
            else if (/^ALTER DATABASE "((?:[^"]|"")+)" RESET ALL;\n/.test(loaded)) {
              // a settings file (lib/backup-methods.ts databaseSettings): kept on its database, without the reset and owner lines
              const name = /^ALTER DATABASE "((?:[^"]|"")+)"/.exec(loaded)[1].replace(/""/g, '"')
              if (!d.databases[name]) finish('', `ERROR:  database "${name}" does not exist`, 3)
              d.databases[name].settings = loaded.split('\n').slice(1).filter((l) => l && !/OWNER TO|^\\unrestrict /.test(l)).join('\n')
            } else {
              if (!d.databases[db]) finish('', `psql: error: FATAL:  database "${db}" does not exist`, 2)
              d.databases[db].dump = loaded
            }
            finish('')
          }
        }
        if (svc && cmd[0] === 'cat' && cmd.length <= 3) {
          const path = cmd.at(-1)
          const m = svc.mounts.find((x) => path.startsWith(x.target + '/'))
          const file = m && state.volumes[volumeOf(m.key)]?.written?.[path.slice(m.target.length + 1)]
          if (file === undefined) finish('', `cat: can't open '${path}': No such file or directory`, 1)
          finish(file)
        }
        if (svc && cmd.includes('--rdb')) {
          const volume = svc.mounts.map((m) => state.volumes[volumeOf(m.key)]).find((v) => v?.files?.['dump.rdb'])
          finishRaw(volume ? Buffer.from(volume.files['dump.rdb'], 'base64') : Buffer.concat([Buffer.from('REDIS0011'), createHash('sha256').update(`${project}/${service}`).digest()]))
        }
        if (/ping/.test(text)) finish('PONG')
        if (/pg_isready/.test(text)) finish('127.0.0.1:5432 - accepting connections')
        if (/caddy (validate|reload)/.test(text)) finish('', 'Valid configuration')
        finish('{"message":"Ok"}')
      }
      finish()
    }

    finish()
  }
}

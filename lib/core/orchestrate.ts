// Runs a dependency graph of jobs: a job starts once every job it comes after has succeeded; independent jobs run
// concurrently (bounded); a failed job skips everything that depends on it, transitively. Scheduling only: the
// work is injected, no I/O here.

export interface GraphNode {
  id: string
  /** ids this node runs after; ids outside the graph are ignored (already satisfied) */
  after: readonly string[]
}

export type Outcome<T> =
  | { id: string; status: 'ok'; value: T; ms: number }
  | { id: string; status: 'failed'; error: unknown; ms: number }
  | { id: string; status: 'skipped'; because: string }

export interface GraphOptions {
  /** most jobs running at once (default 4) */
  concurrency?: number
  /** called when a job is skipped because a dependency failed or was skipped */
  onSkip?: (id: string, because: string) => void
}

/** Reverses the edges: for stopping, a node waits for every node that depended on it. */
export function reversed(nodes: readonly GraphNode[]): GraphNode[] {
  const ids = new Set(nodes.map((n) => n.id))
  return nodes.map((n) => ({ id: n.id, after: nodes.filter((m) => m.after.includes(n.id) && ids.has(m.id)).map((m) => m.id) }))
}

/**
 * Runs every node once. Outcomes come back in the order of `nodes`. Ready nodes start in the order of `nodes`, so a
 * run with no failures is deterministic in what starts first. Throws on a cycle (a registry bug: it rejects cycles).
 */
export async function runGraph<T>(nodes: readonly GraphNode[], work: (id: string) => Promise<T>, opts: GraphOptions = {}): Promise<Outcome<T>[]> {
  const limit = Math.max(1, opts.concurrency ?? 4)
  const ids = new Set(nodes.map((n) => n.id))
  const deps = new Map(nodes.map((n) => [n.id, n.after.filter((a) => ids.has(a) && a !== n.id)]))
  const outcomes = new Map<string, Outcome<T>>()
  const running = new Set<string>()

  return new Promise((resolve, reject) => {
    const pump = () => {
      let progress = true
      while (progress) {
        progress = false
        for (const n of nodes) {
          if (outcomes.has(n.id) || running.has(n.id)) continue
          const blocker = deps.get(n.id)!.find((d) => {
            const o = outcomes.get(d)
            return o && o.status !== 'ok'
          })
          if (blocker) {
            const because = outcomes.get(blocker)!.status === 'failed' ? `${blocker} failed` : `${blocker} was skipped`
            outcomes.set(n.id, { id: n.id, status: 'skipped', because })
            opts.onSkip?.(n.id, because)
            progress = true
            continue
          }
          if (running.size >= limit) continue
          if (!deps.get(n.id)!.every((d) => outcomes.get(d)?.status === 'ok')) continue
          running.add(n.id)
          const started = Date.now()
          work(n.id).then(
            (value) => finish({ id: n.id, status: 'ok', value, ms: Date.now() - started }),
            (error: unknown) => finish({ id: n.id, status: 'failed', error, ms: Date.now() - started }),
          )
        }
      }
      if (running.size === 0) {
        const stuck = nodes.filter((n) => !outcomes.has(n.id))
        if (stuck.length) reject(new Error(`dependency cycle among ${stuck.map((n) => n.id).join(', ')}`))
        else resolve(nodes.map((n) => outcomes.get(n.id)!))
      }
    }
    const finish = (o: Outcome<T>) => {
      running.delete(o.id)
      outcomes.set(o.id, o)
      pump()
    }
    pump()
  })
}

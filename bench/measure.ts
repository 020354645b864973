// Shared by the benchmarks: the median wall time of a synchronous function after a warm-up.
export function median(fn: () => unknown, iterations: number, warmup = 3): number {
  for (let i = 0; i < warmup; i++) fn()
  const times: number[] = []
  for (let i = 0; i < iterations; i++) {
    const start = performance.now()
    fn()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

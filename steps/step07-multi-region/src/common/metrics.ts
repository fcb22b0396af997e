// Counters for GET /metrics: what this node did since it started. Each layer
// counts into the same object, so one curl shows the whole node at work.
export interface Metrics {
  count(name: string, by?: number): void
  snapshot(): Record<string, number>
}

export function createMetrics(): Metrics {
  const counters = new Map<string, number>()
  return {
    count(name, by = 1) {
      counters.set(name, (counters.get(name) ?? 0) + by)
    },
    snapshot() {
      return Object.fromEntries([...counters].sort())
    },
  }
}

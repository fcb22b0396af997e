import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import {
  LATENCY_BUCKETS_MS,
  MONITORING,
  bucketOf,
  metricsOfProcess,
  percentile,
  type ProcessStats,
} from './process-stats'

describe('process stats', () => {
  it('counts every answer of an http.Server with its time, and leaves the monitoring out', () => {
    // In a process of its own: the channels see every server of a process.
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'testing', 'fixtures', 'process-stats-child.ts'),
        ...['/a', '/b', '/slow', '/healthz', '/metrics'],
        '/replication/log?after=3',
        '/replication/changes?after=0&waitMs=0',
      ],
      { encoding: 'utf8' },
    )
    expect(child.stderr).toBe('')
    const { before, after, own, others } = JSON.parse(child.stdout) as Record<
      'before' | 'after',
      ProcessStats
    > &
      Record<'own' | 'others', ReturnType<typeof metricsOfProcess>>
    expect(after.requests - before.requests).toBe(3)
    const latency = after.latency.map((n, i) => n - before.latency[i]!)
    expect(latency.reduce((a, b) => a + b, 0)).toBe(3)
    // The slow one sits in the 100 ms bucket, above 50.
    expect(latency[LATENCY_BUCKETS_MS.indexOf(100)]).toBe(1)
    expect(after.cpuMs).toBeGreaterThan(0)
    expect(after.rssMb).toBeGreaterThan(10)
    // Each server's /metrics counts its own answers only.
    expect(own.requests).toBe(3)
    expect(others.requests).toBe(1)
    expect(own.latency.counts[LATENCY_BUCKETS_MS.indexOf(100)]).toBe(1)
    expect(own.latency.upperBoundsMs).toEqual([...LATENCY_BUCKETS_MS, null])
    expect(own.p99Ms).toBe(100)
    expect(own.cpuMs).toBeGreaterThan(0)
  })

  it('leaves out the health checks, the metrics scrapes and the long polls of replicas and caches, and nothing else', () => {
    for (const path of [
      '/healthz',
      '/metrics',
      '/_edge/metrics',
      '/_lb/metrics',
      '/replication/log?after=3&waitMs=1000',
      '/replication/changes?after=0&waitMs=1000',
    ])
      expect(path).toMatch(MONITORING)
    for (const path of [
      '/',
      '/abc1234',
      '/api/links',
      '/replication/changesets',
      '/metricsx',
      '/api/metrics',
    ])
      expect(path).not.toMatch(MONITORING)
  })

  it('reads a percentile as the bucket bound it falls under', () => {
    expect(bucketOf(0.3)).toBe(0)
    expect(bucketOf(1)).toBe(0)
    expect(bucketOf(1.01)).toBe(1)
    expect(bucketOf(99_999)).toBe(LATENCY_BUCKETS_MS.length)
    const latency = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0)
    latency[bucketOf(3)] = 98
    latency[bucketOf(150)] = 2
    expect(percentile(latency, 0.5)).toBe(5)
    expect(percentile(latency, 0.99)).toBe(200)
    expect(percentile(latency.fill(0), 0.99)).toBeUndefined()
  })
})

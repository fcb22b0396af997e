// CPU time per request, read from outside the processes: the kernel counts
// every process's CPU time in /proc/<pid>/stat, whatever it runs (a node,
// NGINX, Redis). Unlike requests per second, CPU time per request hardly
// moves when something else keeps the machine busy: a process that waits
// for a core is not charged for the wait. Linux only.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

let ticksPerSecond: number | undefined

// Clock ticks per second: 100 on every Linux we know, but getconf says.
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(
        execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }),
      )
    } catch {
      ticksPerSecond = 100
    }
    if (!(ticksPerSecond > 0)) ticksPerSecond = 100
  }
  return ticksPerSecond
}

interface Stat {
  ppid: number
  /** utime + stime, in clock ticks. */
  ticks: number
}

function readStat(pid: number): Stat | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined // gone, or not Linux
  }
  // The command name, in parentheses, may hold spaces: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // After the name: state(3) ppid(4) ... utime(14) stime(15), 1-based in proc(5).
  return {
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
  }
}

// Every process of the machine by its parent, so that a node's children
// count with it: NGINX's worker under its master, a redis-server under the
// node that started it.
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(Number(entry))
    if (!stat) continue
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)])
  }
  return children
}

/** A process's parent; undefined once it is gone. */
export const parentOf = (pid: number) => readStat(pid)?.ppid

/** The processes this one started, still running. */
export const childrenOf = (pid: number) => childrenByParent().get(pid) ?? []

/** CPU time (user + system) used so far by these processes and all their
 * descendants, in ms. A process that already exited counts no more. */
export function cpuMsOf(pids: number[]): number {
  const children = childrenByParent()
  const seen = new Set<number>()
  let ticks = 0
  const add = (pid: number) => {
    if (seen.has(pid)) return
    seen.add(pid)
    ticks += readStat(pid)?.ticks ?? 0
    for (const child of children.get(pid) ?? []) add(child)
  }
  pids.forEach(add)
  return (ticks * 1000) / clockTicks()
}

/** Measures the CPU that `pids` spend while `work` runs. Not guaranteed:
 * a process that exits during the work takes its ticks with it. */
export async function cpuDuring<T>(
  pids: number[],
  work: () => Promise<T>,
): Promise<{ result: T; cpuMs: number }> {
  const before = cpuMsOf(pids)
  const result = await work()
  return { result, cpuMs: cpuMsOf(pids) - before }
}

/** What a table shows where the work could not be told from the idle noise. */
export const NO_FIGURE = '–'

/** CPU ms per 1,000 requests: the figure that survives a busy machine; a
 * dash where the work could not be told from the idle noise (NaN). */
export const perThousand = (cpuMs: number, requests: number) =>
  Number.isNaN(cpuMs)
    ? NO_FIGURE
    : requests > 0
      ? Math.round((cpuMs / requests) * 1000)
      : 0

/** What `pids` spend per ms with no traffic at all (health checks,
 * heartbeats, a monitor's polls), measured over `idleMs`. */
export async function idleRate(pids: number[], idleMs = 1000) {
  const from = performance.now()
  const { cpuMs } = await cpuDuring(
    pids,
    () => new Promise((resolve) => setTimeout(resolve, idleMs)),
  )
  return cpuMs / (performance.now() - from)
}

/** The CPU of `work` on `pids`, less their idle rate over its duration.
 * Twenty idle nodes would otherwise dominate a short load. When the work
 * is not clearly above the idle (a slow, light load over many nodes, where
 * one second's idle sample is noise), NaN: no figure beats a wrong one. */
export async function cpuOfWork<T>(
  pids: number[],
  work: () => Promise<T>,
  idlePerMs: number,
): Promise<{ result: T; cpuMs: number }> {
  const startedAt = performance.now()
  const { result, cpuMs } = await cpuDuring(pids, work)
  const idle = idlePerMs * (performance.now() - startedAt)
  return { result, cpuMs: cpuMs - idle > 0.25 * cpuMs ? cpuMs - idle : NaN }
}

/** cpuOfWork, with the idle rate measured just before. */
export async function cpuOfLoad<T>(
  pids: number[],
  work: () => Promise<T>,
  idleMs = 1000,
): Promise<{ result: T; cpuMs: number }> {
  return cpuOfWork(pids, work, await idleRate(pids, idleMs))
}

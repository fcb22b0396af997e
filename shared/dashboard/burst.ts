// A bounded burst of traffic at the front door, from the dashboard: a fixed
// number of GETs, ten at a time, each with a deadline, so that a click can
// load the system for a few seconds and never for good.
import { Agent, request } from 'node:http'

export interface Burst {
  path: string
  readonly done: boolean
  progress(): {
    path: string
    sent: number
    answered: number
    refused: number
    failed: number
    done: boolean
  }
  stop(): void
}

export function burst(
  frontDoor: string,
  {
    requests,
    path,
    connections = 10,
  }: { requests: number; path: string; connections?: number },
): Burst {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const target = new URL(path, frontDoor)
  let sent = 0
  let answered = 0
  let refused = 0
  let failed = 0
  let done = false
  let stopped = false

  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(target, { agent, timeout: 5000 }, (res) => {
        res.resume()
        res.on('end', () => {
          // A 4xx is the system saying no (a 429 from a rate limit), not
          // an answer, nor a failure of the system.
          const status = res.statusCode!
          if (status < 400) answered++
          else if (status < 500) refused++
          else failed++
          resolve()
        })
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', () => {
        failed++
        resolve()
      })
      req.end()
    })
  const worker = async () => {
    while (!stopped && sent < requests) {
      sent++
      await one()
    }
  }
  void Promise.all(Array.from({ length: connections }, worker)).then(() => {
    done = true
    agent.destroy()
  })
  return {
    path,
    get done() {
      return done
    },
    progress: () => ({ path, sent, answered, refused, failed, done }),
    stop: () => void (stopped = true),
  }
}

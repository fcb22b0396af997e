// A link's clicks, and a steady stream of redirects of it through both
// edges until stopped: how many were answered 302, and what else came back.
// The click counters' tests compare the two.
import { send } from '../../../shared/testing/http'
import { delay } from '../../../shared/wait-for'
import type { System } from '../src/system'

export const clicksOf = async (system: System, code: string) =>
  (await send(system.url, `/api/links/${code}`)).json?.clicks as number

/** `loops` redirects at a time, taking turns at the two edges, each loop
 * pausing `paceMs` between its requests. */
export function steadyRedirects(
  system: System,
  code: string,
  { loops = 4, paceMs = 2 } = {},
) {
  let running = true
  let redirected = 0
  const failed: string[] = []
  const edges = ['edge-us', 'edge-asia'].map(
    (name) => system.nodes.find((n) => n.name === name)!.url,
  )
  const streams = Array.from({ length: loops }, async (_, i) => {
    while (running) {
      const reply = await send(edges[i % 2]!, `/${code}`).catch(
        (error: Error) => ({ status: 0, body: error.message }),
      )
      if (reply.status === 302) redirected++
      else failed.push(`${reply.status} ${reply.body}`)
      await delay(paceMs)
    }
  })
  return {
    get redirected() {
      return redirected
    },
    failed,
    stop: async () => {
      running = false
      await Promise.all(streams)
    },
  }
}

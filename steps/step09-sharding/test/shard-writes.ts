// Creates under a shard's failover: links with aliases, so that each one's
// shard is known before it is sent, from a few loops at once until stopped.
// It keeps what was acknowledged and, for what was not, the shard it was for.
import { postJson, send } from '../../../shared/testing/http'
import { delay } from '../../../shared/wait-for'
import { buildRing, ownerOf } from '../src/sharding/hash-ring'
import type { System } from '../src/system'
import { auth } from './fast'

export async function writeOnEveryShard(
  system: System,
  { prefix, loops }: { prefix: string; loops: number },
) {
  const ring = buildRing((await system.shardMap()).shards)
  const acknowledged: { code: string; url: string; at: number }[] = []
  const failed: { shard: string; at: number; what: string }[] = []
  let running = true
  const writers = Array.from({ length: loops }, async (_, loop) => {
    for (let n = 0; running; n++) {
      const alias = `${prefix}-${loop}-${n}`
      const url = `https://example.com/${alias}`
      const reply = await postJson(system.url, '/api/links', {
        url,
        alias,
      }).catch((error: Error) => ({ status: 0, json: error.message }))
      if (reply.status === 201)
        acknowledged.push({ code: alias, url, at: Date.now() })
      else
        failed.push({
          shard: ownerOf(ring, alias),
          at: Date.now(),
          what: `${reply.status} ${JSON.stringify(reply.json)}`,
        })
      await delay(5)
    }
  })
  return {
    failed,
    /** The links acknowledged on `shard`, after the time `after`. */
    on: (shard: string, after = 0) =>
      acknowledged.filter(
        (link) => ownerOf(ring, link.code) === shard && link.at > after,
      ),
    stop: async () => {
      running = false
      await Promise.all(writers)
    },
    /** Every acknowledged link that does not read back as it was made. */
    lost: async () => {
      const lost: string[] = []
      for (let i = 0; i < acknowledged.length; i += 20)
        await Promise.all(
          acknowledged.slice(i, i + 20).map(async (link) => {
            const reply = await send(system.url, `/api/links/${link.code}`)
            if (reply.json?.url !== link.url)
              lost.push(`${link.code} ${reply.status}`)
          }),
        )
      return lost
    },
  }
}

/** The replication role a database node of the system says it has. */
export async function roleOf(system: System, name: string) {
  const node = system.nodes.find((n) => n.name === name)!
  const reply = await send(node.url, '/replication/status', { headers: auth })
  return reply.json?.role as string
}

// Jepsen's habit, at workshop size: clients record every operation with its
// answer while faults are injected, and the whole history is checked at the
// end against the promises the system makes, instead of a few requests
// after the fact. Each client loops create -> read -> delete -> read on its
// own links, with its own cookies (its read-your-writes token).
import { newClient, uniqueUrl } from './http'

export interface Operation {
  client: number
  kind: 'create' | 'read' | 'delete'
  code: string
  status: number
  startedAt: number
  endedAt: number
}

export interface History {
  operations: Operation[]
  stop(): Promise<void>
}

export function recordHistory(base: string, clients: number): History {
  const operations: Operation[] = []
  let running = true
  const loops = Array.from({ length: clients }, async (_, client) => {
    const http = newClient()
    const record = async (
      kind: Operation['kind'],
      code: string,
      request: () => Promise<{ status: number; json?: { code?: string } }>,
    ) => {
      const startedAt = Date.now()
      const reply = await request().catch(() => ({
        status: 0,
        json: undefined,
      }))
      operations.push({
        client,
        kind,
        code: code || reply.json?.code || '',
        status: reply.status,
        startedAt,
        endedAt: Date.now(),
      })
      return reply
    }
    while (running) {
      const created = await record('create', '', () =>
        http.postJson(base, '/api/links', { url: uniqueUrl() }),
      )
      if (created.status !== 201) continue
      const { code, deleteToken } = created.json as {
        code: string
        deleteToken: string
      }
      await record('read', code, () => http.send(base, `/${code}`))
      await record('delete', code, () =>
        http.send(base, `/api/links/${code}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${deleteToken}` },
        }),
      )
      await record('read', code, () => http.send(base, `/${code}`))
    }
  })
  return {
    operations,
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

/** What a client saw that the system promised it would not: a read of its
 * own link that went back in time (404 after its create was acknowledged,
 * 302 after its delete was). */
export function staleOwnReads(operations: Operation[]): Operation[] {
  const problems: Operation[] = []
  const state = new Map<string, 'created' | 'deleted'>()
  for (const op of operations) {
    const key = `${op.client} ${op.code}`
    if (op.kind === 'create' && op.status === 201) state.set(key, 'created')
    if (op.kind === 'delete' && op.status === 204) state.set(key, 'deleted')
    if (op.kind !== 'read') continue
    const known = state.get(key)
    if (known === 'created' && op.status === 404) problems.push(op)
    if (known === 'deleted' && op.status === 302) problems.push(op)
  }
  return problems
}

/** The links whose create was acknowledged, with whether their delete was. */
export function acknowledged(operations: Operation[]) {
  const links = new Map<string, { deleted: boolean }>()
  for (const op of operations) {
    if (op.kind === 'create' && op.status === 201)
      links.set(op.code, { deleted: false })
    if (op.kind === 'delete' && op.status === 204)
      links.set(op.code, { deleted: true })
  }
  return links
}

// The sum of one /metrics counter over every node of a role, e.g. the
// database loads of all app servers together.
import { send } from './http'

export async function counterSum(
  nodes: { role: string; url: string }[],
  name: string,
  role = 'app',
): Promise<number> {
  const counts = await Promise.all(
    nodes
      .filter((node) => node.role === role)
      .map(
        async (node) =>
          (await send(node.url, '/metrics')).json.counters[name] ?? 0,
      ),
  )
  return counts.reduce((sum: number, n: number) => sum + n, 0)
}

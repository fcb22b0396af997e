// A role whose module loads only when a node of that role starts: a balancer
// process never loads Express or SQLite, and stays light. Kept apart from the
// launcher so that a node loads nothing of the launcher's.
import type { Handle } from './net'

export function lazy<M, K extends keyof M>(
  load: () => Promise<M>,
  name: K,
): M[K] {
  const start = async (options: unknown) =>
    ((await load())[name] as (options: unknown) => Promise<Handle>)(options)
  return start as M[K]
}

// The seam every later step builds on: the app talks to a LinkStore, never to
// SQLite. Step by step the store behind it becomes a database client, a
// replicated store, a cached store and a sharded store; the routes stay put.

export interface Link {
  code: string
  url: string
  createdAt: number
  /** Epoch milliseconds, or null for a link that never expires. */
  expiresAt: number | null
  /** A SHA-256 hex digest: the delete token itself is never stored. */
  deleteTokenHash: string
  deletedAt: number | null
  clicks: number
}

export type NewLink = Omit<Link, 'deletedAt' | 'clicks'>

export interface LinkStore {
  /** Throws CodeTakenError when the code exists; never overwrites. */
  insert(link: NewLink): Promise<void>
  find(code: string, options?: FindOptions): Promise<Link | undefined>
  recordClick(code: string): Promise<void>
  markDeleted(code: string, deletedAt: number): Promise<void>
  close(): Promise<void>
}

export interface FindOptions {
  /** Skip every cache: the caller needs the current clicks, not a copy. */
  fresh?: boolean
}

export class CodeTakenError extends Error {
  constructor(readonly code: string) {
    super(`The code "${code}" is taken`)
    this.name = 'CodeTakenError'
  }
}

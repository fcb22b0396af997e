// A LinkStore whose data lives in the database server: the SQLite store's
// statements, sent over the network. The routes cannot tell the difference.
import { DbError, type DbClient } from './db-client'
import { CodeTakenError, type LinkStore } from '../app/link-store'
import { SQL, toLink, type LinkRow } from './sqlite-store'

export function createDbStore(db: DbClient): LinkStore {
  return {
    async insert(link) {
      try {
        await db.execute(SQL.insert, { ...link })
      } catch (error: unknown) {
        if (error instanceof DbError && error.code === 'constraint') {
          throw new CodeTakenError(link.code)
        }
        throw error
      }
    },
    async find(code) {
      const [row] = await db.query<LinkRow>(SQL.find, [code])
      return row && toLink(row)
    },
    async recordClick(code) {
      await db.execute(SQL.click, [code])
    },
    async markDeleted(code, deletedAt) {
      await db.execute(SQL.markDeleted, [deletedAt, code])
    },
    async close() {
      db.close()
    },
  }
}

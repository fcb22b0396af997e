import { join } from 'node:path'
import { CodeTakenError, type NewLink } from '../src/app/link-store'
import { createSqliteStore } from '../src/database/sqlite-store'
import { tempDir } from '../../../shared/testing/temp'

const newLink = (code: string): NewLink => ({
  code,
  url: `https://example.com/${code}`,
  createdAt: 1_000,
  expiresAt: null,
  deleteTokenHash: 'f'.repeat(64),
})

describe('sqlite store: links in one file', () => {
  const data = tempDir()
  const file = join(data.path, 'nested', 'links.db')
  afterAll(() => data.remove())

  it('keeps links in the file after the store is closed and reopened', async () => {
    const first = createSqliteStore(file)
    await first.insert(newLink('persist1'))
    await first.close()
    const second = createSqliteStore(file)
    expect(await second.find('persist1')).toEqual({
      ...newLink('persist1'),
      deletedAt: null,
      clicks: 0,
    })
    await second.close()
  })

  it('refuses a second link with the same code and keeps the first', async () => {
    const store = createSqliteStore(file)
    await store.insert(newLink('taken01'))
    await expect(
      store.insert({ ...newLink('taken01'), url: 'https://evil.example/' }),
    ).rejects.toBeInstanceOf(CodeTakenError)
    expect((await store.find('taken01'))?.url).toBe(
      'https://example.com/taken01',
    )
    await store.close()
  })

  it('counts clicks and marks a link deleted without removing it', async () => {
    const store = createSqliteStore(file)
    await store.insert(newLink('clicks1'))
    await store.recordClick('clicks1')
    await store.recordClick('clicks1')
    await store.markDeleted('clicks1', 5_000)
    expect(await store.find('clicks1')).toMatchObject({
      clicks: 2,
      deletedAt: 5_000,
    })
    expect(await store.find('missing')).toBeUndefined()
    await store.close()
  })
})

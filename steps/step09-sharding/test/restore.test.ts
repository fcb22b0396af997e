// npm run restore on a sharded step: every shard has its own log, whose
// seqs count from 1 like every other shard's, and its own backups, all in
// one folder. The command runs in its own process, as a learner runs it,
// against two shard primaries and the topology file npm start would write.
import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Handle } from '../../../shared/net'
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { ROOT } from '../../../shared/steps'
import type { Topology } from '../../../shared/topology'
import { startDbServer } from '../src/database/db-server'
import {
  DEFAULT_VNODES,
  routerFor,
  type ShardMap,
} from '../src/sharding/shard-map'
import { adminToken, admin, auth, token } from './fast'

const map: ShardMap = {
  epoch: 1,
  scheme: 'ring',
  shards: ['shard-1', 'shard-2'].map((name) => ({
    name,
    vnodes: DEFAULT_VNODES,
  })),
}
const owner = routerFor(map).owner
// The first n codes of a prefix that the ring gives to `shard`.
const codesOf = (shard: string, prefix: string, n: number) => {
  const codes: string[] = []
  for (let i = 0; codes.length < n; i++)
    if (owner(`${prefix}${i}`) === shard) codes.push(`${prefix}${i}`)
  return codes
}

describe('npm run restore on shards: one shard at a time, from its own backups and log', () => {
  const data = tempDir()
  const run = tempDir()
  // Each shard's primary, as the topology names it.
  const names = { 'shard-1': 'db-s1-asia', 'shard-2': 'db-s2-asia' }
  const shards: Record<string, Handle> = {}
  beforeAll(async () => {
    for (const [shard, name] of Object.entries(names)) {
      shards[shard] = await startDbServer({
        name,
        port: 0,
        dataFile: join(data.path, `${name}.db`),
        token,
        adminToken,
        replication: { role: 'primary' },
      })
    }
    writeFileSync(join(data.path, 'shard-map.json'), JSON.stringify(map))
    const topology: Topology = {
      step: 'step09-sharding',
      frontDoor: '',
      dataDir: data.path,
      control: { url: '', token: '' },
      adminToken,
      nodes: Object.entries(names).map(([shard, name]) => ({
        name,
        role: 'database',
        tier: 'database',
        region: 'asia',
        shard,
        url: shards[shard]!.url,
        pid: process.pid,
        state: 'up',
        frontDoor: false,
      })),
      links: [],
    }
    writeFileSync(join(run.path, 'step09.json'), JSON.stringify(topology))
  })
  afterAll(async () => {
    for (const handle of Object.values(shards)) await handle.close()
    data.remove()
    run.remove()
  })

  // Async: the shards under test run in this very process.
  const restore = (...args: string[]) =>
    new Promise<{ status: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'shared/cli/restore.ts'),
          'step09',
        ].concat(args),
        { cwd: ROOT, env: { ...process.env, RUN_DIR: run.path } },
        (error, stdout, stderr) =>
          resolve({
            status: error ? Number(error.code) : 0,
            output: stdout + stderr,
          }),
      )
    })
  const headers = { ...auth, 'X-Epoch': '1' }
  const create = async (shard: string, codes: string[]) => {
    for (const code of codes) {
      const reply = await postJson(
        shards[shard]!.url,
        '/execute',
        {
          sql: 'INSERT INTO links (code, url, created_at, delete_token_hash) VALUES (?, ?, ?, ?)',
          params: [
            code,
            `https://example.com/${code}`,
            Date.now(),
            'x'.repeat(64),
          ],
        },
        headers,
      )
      expect(reply.status).toBe(200)
    }
  }
  const deleteAll = async (shard: string) =>
    (
      await postJson(
        shards[shard]!.url,
        '/execute',
        { sql: 'DELETE FROM links', params: [] },
        headers,
      )
    ).json.seq as number
  const backup = async (shard: string) =>
    (
      await send(shards[shard]!.url, '/admin/backup', {
        method: 'POST',
        headers: admin,
      })
    ).body
  const alive = async (shard: string) => {
    const reply = await postJson(
      shards[shard]!.url,
      '/query',
      { sql: 'SELECT code FROM links ORDER BY code', params: [] },
      headers,
    )
    return (reply.json.rows as { code: string }[]).map((row) => row.code)
  }

  it('refuses to restore a sharded step without --shard, or with a shard it does not have, naming its shards', async () => {
    for (const args of [[], ['--shard', 'shard-9']]) {
      const { status, output } = await restore(...args, '--to-seq', '1')
      expect(output).toMatch(
        /on 2 shards \(shard-1, shard-2\).*restore one at a time with --shard/,
      )
      expect(status).toBe(2)
    }
  })

  it('restores a shard from its own backup and log into its own primary, and leaves out the links the shard map gives to another shard', async () => {
    // shard-1: three links, a backup at seq 3, three more, among them two
    // that the ring gives to shard-2 (left behind by a reshard), then the
    // mistake at seq 7. shard-2: five links, a backup at seq 5 (the newest
    // at or before 6, were every backup in the folder a candidate), and its
    // own mistake.
    const [a, b, c, d] = codesOf('shard-1', 'one-', 4)
    const strays = codesOf('shard-2', 'moved-', 2)
    await create('shard-1', [a!, b!, c!])
    expect(await backup('shard-1')).toMatch(/"seq":3/)
    await create('shard-1', [d!, ...strays])
    expect(await deleteAll('shard-1')).toBe(7)
    await create('shard-2', codesOf('shard-2', 'two-', 5))
    expect(await backup('shard-2')).toMatch(/"seq":5/)
    await deleteAll('shard-2')

    const { status, output } = await restore(
      '--shard',
      'shard-1',
      '--to-seq',
      '6',
    )
    expect(output).toMatch(
      /Rebuilt seq 6 from \S*backups\/db-s1-asia-\S+\.db \(seq 3\) and 3 log entries:\n\s+\S*restored\/shard-1\/seq-6\.db \(6 live links\)/,
    )
    expect(output).toContain(
      `Left out 2 link(s) that the shard map gives to another shard now: ${strays.map((code) => `${code} (shard-2)`).join(', ')}`,
    )
    expect(output).toContain('Brought back through db-s1-asia: 4 link(s)')
    expect(status).toBe(0)
    expect(await alive('shard-1')).toEqual([a, b, c, d].sort())
    expect(await alive('shard-2')).toEqual([])
    expect(existsSync(join(data.path, 'restored', 'seq-6.db'))).toBe(false)
  })
})

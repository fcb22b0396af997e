import { INSTALL_REDIS, ping, startRedis } from './redis'
import { portOf } from './net'

const portIn = (url: string) => portOf(url.replace(/^redis:/, 'http:'))

describe('private redis launcher', () => {
  it('starts a private redis-server on a free port that answers PING, and stops it', async () => {
    const redis = await startRedis({ redisUrl: undefined })
    const port = portIn(redis.url)
    expect(port).not.toBe(6379)
    expect(await ping(port)).toBe('+PONG')
    await redis.close()
    await expect(ping(port)).rejects.toThrow()
  })

  it('restarts a killed private redis-server on the same port', async () => {
    const redis = await startRedis({ redisUrl: undefined })
    const port = portIn(redis.url)
    await redis.kill()
    await expect(ping(port)).rejects.toThrow()
    await redis.restart()
    expect(await ping(port)).toBe('+PONG')
    await redis.close()
  })

  it('uses REDIS_URL when it is set, and starts nothing', async () => {
    const redis = await startRedis({
      redisUrl: 'redis://127.0.0.1:6390',
      binary: 'no-such-redis-server',
    })
    expect(redis).toMatchObject({
      url: 'redis://127.0.0.1:6390',
      private: false,
    })
    await redis.close()
  })

  it('says how to install Redis when no redis-server is on PATH and REDIS_URL is unset', async () => {
    await expect(
      startRedis({ redisUrl: undefined, binary: 'no-such-redis-server' }),
    ).rejects.toThrow(INSTALL_REDIS)
    expect(INSTALL_REDIS).toMatch(/apt-get install redis-server/)
    expect(INSTALL_REDIS).toMatch(/brew install redis/)
  })
})

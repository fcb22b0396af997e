// The dashboard's front door, without a browser: who may do what.
import { request } from 'node:http'
import type { Topology } from '../topology'
import { startDashboard, type Dashboard } from './server'

const topology: Topology = {
  step: 'step03-load-balancer',
  frontDoor: 'http://127.0.0.1:9',
  dataDir: '/nowhere',
  control: { url: 'http://127.0.0.1:9', token: 'control-secret' },
  adminToken: 'admin-secret',
  nodes: [],
  links: [],
}

function call(
  dashboard: Dashboard,
  path: string,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${dashboard.url}${path}`,
      { method, headers },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
          // An event stream never ends: its first event is enough.
          if (text.includes('\n\n')) res.destroy()
        })
        res.on('close', () =>
          resolve({ status: res.statusCode!, text, headers: res.headers }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('the dashboard server', () => {
  let dashboard: Dashboard
  beforeAll(async () => {
    dashboard = await startDashboard({
      nodes: [],
      topology: () => topology,
      changed: () => {},
    })
  })
  afterAll(() => dashboard.close())
  const act = (
    path: string,
    body = '{}',
    headers: Record<string, string> = {},
  ) =>
    call(dashboard, path, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-dashboard-token': dashboard.token,
        ...headers,
      },
    })

  it('gives its page the token, and forbids framing it', async () => {
    const page = await call(dashboard, '/')
    expect(page.status).toBe(200)
    expect(page.text).toContain(`content="${dashboard.token}"`)
    expect(page.headers['x-frame-options']).toBe('DENY')
    expect(page.headers['content-security-policy']).toMatch(
      /frame-ancestors 'none'/,
    )
  })

  it('streams the topology to a page with the token, without any secret of the run', async () => {
    expect((await call(dashboard, '/events')).status).toBe(401)
    const events = await call(dashboard, `/events?token=${dashboard.token}`)
    expect(events.status).toBe(200)
    expect(events.text).toMatch(
      /^data: \{"at":\d+,"topology":\{"step":"step03-load-balancer"/,
    )
    expect(events.text).not.toMatch(/secret|dataDir|control/)
  })

  it('refuses an action without the token, from another origin, or under a name that is not loopback', async () => {
    expect(
      (
        await act('/api/nodes/app-1/kill', '{}', {
          'x-dashboard-token': 'guess',
        })
      ).status,
    ).toBe(401)
    expect(
      (
        await act('/api/nodes/app-1/kill', '{}', {
          origin: 'http://evil.example',
        })
      ).status,
    ).toBe(403)
    const port = new URL(dashboard.url).port
    expect(
      (
        await act('/api/nodes/app-1/kill', '{}', {
          origin: `http://127.0.0.1:${Number(port) + 1}`,
        })
      ).status,
    ).toBe(403)
    expect(
      (
        await act('/api/nodes/app-1/kill', '{}', {
          host: `evil.example:${port}`,
        })
      ).status,
    ).toBe(403)
    expect(
      (
        await call(dashboard, '/', {
          headers: { host: `rebound.example:${port}` },
        })
      ).status,
    ).toBe(403)
    // Our own origin, under any loopback name, is fine.
    expect(
      (
        await act('/api/nodes/app-9/kill', '{}', {
          origin: `http://localhost:${port}`,
        })
      ).status,
    ).toBe(404)
  })

  it('answers bad input with a 4xx and keeps serving', async () => {
    expect((await act('/api/trace', 'not json')).status).toBe(400)
    expect((await act('/api/trace', '[1]')).status).toBe(400)
    expect((await act('/api/trace', '{"code":7}')).status).toBe(400)
    expect((await act('/api/trace', '{"code":"a/b"}')).status).toBe(400)
    expect((await act('/api/burst', '{"requests":1e9}')).status).toBe(400)
    expect((await act('/api/burst', '{"code":"../admin"}')).status).toBe(400)
    expect((await act('/api/trace', 'x'.repeat(20_000))).status).toBe(400)
    expect((await act('/api/nodes/app-1/explode')).status).toBe(404)
    expect((await call(dashboard, '/dashboard.js')).status).toBe(200)
  })
})

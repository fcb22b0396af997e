// The dashboard in a real headless Chromium, against `npm start` as a
// learner runs it (npm run test:browser). SCREENSHOTS=1 (npm run
// screenshots) also writes the pictures the README shows.
import { request } from 'node:http'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { ROOT } from '../steps'
import { launchBrowser } from '../testing/browser'
import { isAlive, npmStart, type NpmStart } from '../testing/npm-start'
import { waitFor } from '../wait-for'

jest.setTimeout(120_000)

let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(() => browser?.close())

async function open(started: NpmStart): Promise<Page> {
  const url = started.topology.dashboard
  if (!url) throw new Error('The topology file names no dashboard')
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  await page.goto(url)
  await page.locator('#connection', { hasText: 'live' }).waitFor()
  return page
}

const card = (page: Page, name: string) => page.locator(`#node-${name}`)
const nodeOf = (started: NpmStart, name: string) => {
  const node = started.topology.nodes.find((n) => n.name === name)
  if (!node) throw new Error(`No node ${name} in the topology`)
  return node
}
/** How soon the balancer takes a dead server out: `fall` failed checks in
 * a row, one every `intervalMs`, as the balancer itself says. */
async function healthOf(started: NpmStart, balancer: string) {
  const reply = await fetch(`${nodeOf(started, balancer).url}/_lb/metrics`)
  const { health } = (await reply.json()) as {
    health: { rise: number; fall: number; intervalMs: number }
  }
  return health
}
// What the page adds to the balancer's detection time: its one-second
// refresh, and a second's margin for a busy machine.
const PAGE_MS = 2000
const requestsPerSecond = async (page: Page, name: string) =>
  Number(
    /(\d+) req\/s/.exec(
      await card(page, name).locator('.figures').innerText(),
    )?.[1] ?? 0,
  )

async function screenshot(page: Page, step: string) {
  if (!process.env.SCREENSHOTS) return
  await page.screenshot({
    path: join(ROOT, 'docs', `dashboard-${step}.png`),
    fullPage: true,
  })
}

describe('step 3 on the dashboard', () => {
  let started: NpmStart
  let page: Page
  beforeAll(async () => {
    started = await npmStart('step03')
    page = await open(started)
  })
  afterAll(async () => {
    await page?.close()
    await started?.stop('ctrl-c')
  })

  it('updates each card in place, frame after frame: the same element, and a focused button keeps its focus', async () => {
    await page.focus('button[aria-label="Kill app-1"]')
    // In the page (a string: this project's types have no DOM).
    await page.evaluate("document.getElementById('node-app-1').drawnOnce = 1")
    // The chart moves on every frame: wait for two of them.
    const chart = () =>
      page.locator('#chart polyline.rps').getAttribute('points')
    for (let frame = 0; frame < 2; frame++) {
      const before = await chart()
      await waitFor('the next frame', async () => (await chart()) !== before)
    }
    await expect(
      page.evaluate(
        "({ same: document.getElementById('node-app-1').drawnOnce === 1, focused: document.activeElement.getAttribute('aria-label') })",
      ),
    ).resolves.toEqual({ same: true, focused: 'Kill app-1' })
  })

  it('draws the load balancer, three app servers and the database, all up, with arrows along the request path', async () => {
    for (const name of [
      'load-balancer',
      'app-1',
      'app-2',
      'app-3',
      'database',
    ]) {
      await card(page, name).and(page.locator('[data-state="up"]')).waitFor()
      const pid = started.topology.nodes.find((n) => n.name === name)!.pid
      await expect(card(page, name).innerText()).resolves.toContain(
        `pid ${pid}`,
      )
    }
    await expect(
      page.locator('.tier[data-tier="app"] .node').count(),
    ).resolves.toBe(3)
    await expect(page.locator('#arrows line').count()).resolves.toBe(6)
    await expect(card(page, 'load-balancer').innerText()).resolves.toContain(
      'front door',
    )
    // The balancer's own view of each server, beside the process's state.
    for (const name of ['app-1', 'app-2', 'app-3'])
      await card(page, name)
        .and(page.locator('[data-lb="up"]'))
        .locator('.pool', { hasText: "in load-balancer's pool" })
        .waitFor()
    await card(page, 'load-balancer')
      .locator('.facts', { hasText: '3 of 3 servers in the pool' })
      .waitFor()
  })

  it("shows a killed app server ejected by the balancer's health checks within fall × interval, and back in its pool after a restart", async () => {
    // No traffic: only the health checks can find it dead.
    const { rise, fall, intervalMs } = await healthOf(started, 'load-balancer')
    await page.getByRole('button', { name: 'Kill app-3' }).click()
    const killed = Date.now()
    await card(page, 'app-3').and(page.locator('[data-state="down"]')).waitFor()
    await card(page, 'app-3')
      .and(page.locator('[data-lb="ejected"]'))
      .locator('.pool', { hasText: 'ejected by load-balancer' })
      .waitFor({ timeout: fall * intervalMs + PAGE_MS })
    const ejectedAfter = Date.now() - killed
    expect(ejectedAfter).toBeLessThanOrEqual(fall * intervalMs + PAGE_MS)
    await expect(
      card(page, 'app-3').locator('.pool').innerText(),
    ).resolves.toMatch(/ejected by load-balancer · \d+ checks? failed in a row/)
    await card(page, 'load-balancer')
      .locator('.facts', { hasText: '2 of 3 servers in the pool' })
      .waitFor()
    await page.getByRole('button', { name: 'Restart app-3' }).click()
    await card(page, 'app-3')
      .and(page.locator('[data-lb="up"]'))
      .waitFor({ timeout: 20_000 + rise * intervalMs + PAGE_MS })
  })

  it('kills app-2 from the page while a burst runs: it turns down, the others keep serving, and restart brings it back', async () => {
    await page.fill('#burst-requests', '5000')
    await page.click('#burst button')
    await waitFor(
      'the burst to reach the app servers',
      async () => (await requestsPerSecond(page, 'app-2')) > 0,
    )
    const before = started.topology.nodes.find((n) => n.name === 'app-2')!.pid
    const { fall, intervalMs } = await healthOf(started, 'load-balancer')
    await page.getByRole('button', { name: 'Kill app-2' }).click()
    await card(page, 'app-2')
      .and(page.locator('[data-state="down"]'))
      .waitFor({ timeout: 5000 })
    expect(isAlive(before)).toBe(false)
    // Under traffic the balancer need not wait for its checks: a refused
    // connection ejects the server at once.
    await card(page, 'app-2')
      .and(page.locator('[data-lb="ejected"]'))
      .waitFor({ timeout: fall * intervalMs + PAGE_MS })
    // The traffic goes on, on the two that are left.
    for (const name of ['app-1', 'app-3']) {
      await waitFor(
        `${name} to keep serving`,
        async () => (await requestsPerSecond(page, name)) > 0,
      )
    }
    await screenshot(page, 'step03')
    const progress = page.locator('#burst-progress')
    await waitFor(
      'the burst to finish',
      async () => /^Done/.test(await progress.innerText()),
      { timeoutMs: 60_000 },
    )
    // Not one request of the burst failed: the balancer retried the GETs.
    await expect(progress.innerText()).resolves.toMatch(
      /5000 sent, 5000 answered, 0 refused \(4xx\), 0 failed/,
    )
    await page.getByRole('button', { name: 'Restart app-2' }).click()
    await card(page, 'app-2')
      .and(page.locator('[data-state="up"]'))
      .and(page.locator('[data-lb="up"]'))
      .waitFor({ timeout: 20_000 })
    await page.click('#burst button')
    await waitFor(
      'app-2 to take traffic again',
      async () => (await requestsPerSecond(page, 'app-2')) > 0,
      { timeoutMs: 20_000 },
    )
  })

  it('refuses an action without the token, from another origin, or by another Host name', async () => {
    const dashboard = started.topology.dashboard!
    const app1 = started.topology.nodes.find((n) => n.name === 'app-1')!
    // From the page itself, but without the token.
    const noToken = await page.evaluate(async () => {
      const res = await fetch('/api/nodes/app-1/kill', {
        method: 'POST',
        body: '{}',
      })
      return res.status
    })
    expect(noToken).toBe(401)
    const noStream = await page.evaluate(
      async () => (await fetch('/events')).status,
    )
    expect(noStream).toBe(401)
    // From another site's page (the front door is another origin), even
    // with the token: the browser says where it comes from, and we refuse.
    const token = await page
      .locator('meta[name="dashboard-token"]')
      .getAttribute('content')
    const other = await browser.newPage()
    await other.goto(`${started.topology.frontDoor}/healthz`)
    const crossSite = await other.evaluate(
      async ({ dashboard, token }) => {
        try {
          const res = await fetch(`${dashboard}/api/nodes/app-1/kill`, {
            method: 'POST',
            headers: { 'x-dashboard-token': token! },
            body: '{}',
          })
          return res.status
        } catch {
          return 'blocked'
        }
      },
      { dashboard, token },
    )
    await other.close()
    expect(crossSite).toBe('blocked')
    // A DNS-rebinding page reaches us under its own name.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(`${dashboard}/api/nodes/app-1/kill`, {
        method: 'POST',
        headers: {
          host: 'attacker.example',
          'x-dashboard-token': token!,
          'content-type': 'application/json',
        },
      })
      req.on('response', (res) => resolve(res.statusCode!)).on('error', reject)
      req.end('{}')
    })
    expect(rebound).toBe(403)
    expect(isAlive(app1.pid)).toBe(true)
    await card(page, 'app-1').and(page.locator('[data-state="up"]')).waitFor()
  })
})

describe('step 5 on the dashboard', () => {
  let started: NpmStart
  let page: Page
  beforeAll(async () => {
    started = await npmStart('step05')
    page = await open(started)
  })
  afterAll(async () => {
    await page?.close()
    await started?.stop('ctrl-c')
  })

  it('traces a redirect along its path, through the cache layer that answered it', async () => {
    await page.fill('#trace-url', 'https://example.com/traced')
    await page.click('#shorten button')
    await page
      .locator('#hops li', { hasText: 'POST /api/links → 201' })
      .waitFor()
    // Follow until a cache layer answers (the first redirect loads it).
    await waitFor('a redirect answered from a cache', async () => {
      await page.click('#follow button')
      // A trace clears the last one, then lists its answer.
      await page.locator('#hops li', { hasText: /GET \/\w+ → / }).waitFor()
      const hops = await page.locator('#hops').innerText()
      return /GET \/\w+ → 302[\s\S]*x-cache: HIT-L[12]/.test(hops)
    })
    const served = /x-served-by: (app-\d)/.exec(
      await page.locator('#hops').innerText(),
    )![1]!
    for (const name of ['load-balancer', served])
      await card(page, name).and(page.locator('.traced')).waitFor()
    // A burst of redirects of that code: the chart and the hit ratios move.
    await page.click('#burst button')
    await waitFor(
      'the front door to show traffic',
      async () => Number(await page.locator('#door-rps').innerText()) > 0,
    )
    await card(page, served)
      .locator('.facts', { hasText: /cache hits \d+%/ })
      .waitFor()
    await card(page, 'db-1').locator('.facts', { hasText: 'primary' }).waitFor()
    // The picture: a redirect traced from a cache, its path lit (a trace
    // stays lit for 15 s, so follow once more just before).
    await waitFor('a redirect answered from a cache, once more', async () => {
      await page.click('#follow button')
      await page.locator('#hops > li', { hasText: /GET \/\w+ → / }).waitFor()
      return /x-cache: HIT-L[12]/.test(await page.locator('#hops').innerText())
    })
    const again = /x-served-by: (app-\d)/.exec(
      await page.locator('#hops').innerText(),
    )![1]!
    for (const name of ['load-balancer', again])
      await card(page, name).and(page.locator('.traced')).waitFor()
    await screenshot(page, 'step05')
  })
})

// The largest step: every tier the dashboard knows, in two regions.
describe('step 9 on the dashboard', () => {
  let started: NpmStart
  let page: Page
  beforeAll(async () => {
    started = await npmStart('step09')
    page = await open(started)
  })
  afterAll(async () => {
    await page?.close()
    await started?.stop('ctrl-c')
  })

  it('draws every tier of the topology, regions as columns, shards and workers, each node up, with the balancers’ view of their servers', async () => {
    const { nodes, links } = started.topology
    const tiers = [...new Set(nodes.map((n) => n.tier))]
    expect(tiers).toEqual(
      expect.arrayContaining([
        'edge',
        'global',
        'balancer',
        'app',
        'cache',
        'database',
        'worker',
      ]),
    )
    for (const node of nodes)
      await card(page, node.name)
        .and(page.locator('[data-state="up"]'))
        .waitFor()
    for (const tier of tiers)
      await expect(
        page.locator(`.tier[data-tier="${tier}"] .node`).count(),
      ).resolves.toBe(nodes.filter((n) => n.tier === tier).length)
    // Each region a column of its own, on every tier that has regions.
    const regions = [...new Set(nodes.map((n) => n.region).filter(Boolean))]
    expect(regions.length).toBeGreaterThanOrEqual(2)
    for (const tier of ['edge', 'balancer', 'app', 'database'])
      await expect(
        page.locator(`.tier[data-tier="${tier}"] .region`).allInnerTexts(),
      ).resolves.toEqual(
        expect.arrayContaining(regions.map((r) => `region ${r}`)),
      )
    // Shards on their databases; queues on the workers.
    for (const node of nodes.filter((n) => n.shard))
      await expect(card(page, node.name).innerText()).resolves.toContain(
        node.shard!,
      )
    for (const node of nodes.filter((n) => n.tier === 'worker'))
      await card(page, node.name)
        .locator('.facts', { hasText: /waiting/ })
        .waitFor()
    await expect(page.locator('#arrows line').count()).resolves.toBe(
      links.length,
    )
    // The global balancer's servers are the regions' balancers; theirs,
    // the region's app servers.
    for (const node of nodes.filter((n) => n.tier === 'balancer'))
      await card(page, node.name)
        .locator('.pool', { hasText: "in global-balancer's pool" })
        .waitFor()
    for (const node of nodes.filter((n) => n.tier === 'app'))
      await card(page, node.name)
        .and(page.locator('[data-lb="up"]'))
        .locator('.pool', { hasText: `in ${node.region}-lb's pool` })
        .waitFor()
  })
})

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
  })

  it('kills app-2 from the page while a burst runs: it turns down, the others keep serving, and restart brings it back', async () => {
    await page.fill('#burst-requests', '5000')
    await page.click('#burst button')
    await waitFor(
      'the burst to reach the app servers',
      async () => (await requestsPerSecond(page, 'app-2')) > 0,
    )
    const before = started.topology.nodes.find((n) => n.name === 'app-2')!.pid
    await page.getByRole('button', { name: 'Kill app-2' }).click()
    await card(page, 'app-2')
      .and(page.locator('[data-state="down"]'))
      .waitFor({ timeout: 5000 })
    expect(isAlive(before)).toBe(false)
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
    await screenshot(page, 'step05')
  })
})

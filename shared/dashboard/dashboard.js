// The dashboard page: one event a second from /events updates the nodes and
// the chart; the buttons call the launcher's actions with this run's token.
// Plain browser JavaScript, no build step.
'use strict'

const TIERS = [
  'edge',
  'global',
  'balancer',
  'app',
  'cache',
  'database',
  'worker',
  'wan',
]
const TIER_NAMES = {
  edge: 'Edges (CDN)',
  global: 'Global load balancer',
  balancer: 'Load balancers',
  app: 'App servers',
  cache: 'Caches and queues (Redis)',
  database: 'Databases',
  worker: 'Workers',
  wan: 'Wide-area network',
}
const token = document.querySelector('meta[name="dashboard-token"]').content
const $ = (id) => document.getElementById(id)
let series = []
let traced = new Set()
let tracedUntil = 0
let last

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value
    // Through the CSSOM: the page's policy refuses inline style attributes.
    else if (key === 'style') node.style.cssText = value
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value)
  }
  for (const child of children.flat()) if (child != null) node.append(child)
  return node
}

async function act(path, body = {}) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-dashboard-token': token },
    body: JSON.stringify(body),
  })
  const answer = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(answer.error || `HTTP ${res.status}`)
  return answer
}

function say(text) {
  $('message').textContent = text
}

function figures(sample) {
  if (sample.state !== 'up') return 'down'
  const parts = []
  if (sample.rps !== undefined) parts.push(`${sample.rps} req/s`)
  if (sample.p99 !== undefined) parts.push(`p99 ≤ ${sample.p99} ms`)
  if (sample.cpu !== undefined) parts.push(`CPU ${sample.cpu}%`)
  if (sample.rssMb !== undefined) parts.push(`${sample.rssMb} MB`)
  return parts.join(' · ')
}

// What one balancer thinks of this node, which may not be what the
// process is: a dead server still gets requests until its checks fail
// `fall` times in a row, and a restarted one none until they pass `rise`.
function poolLine(view) {
  const inARow = (n, how) => `${n} check${n === 1 ? '' : 's'} ${how} in a row`
  if (view.state === 'down') {
    const parts = [`ejected by ${view.by}`]
    if (view.passedChecks > 0) parts.push(inARow(view.passedChecks, 'passed'))
    else if (view.failedChecks > 0)
      parts.push(inARow(view.failedChecks, 'failed'))
    if (view.failedAttempts > 0)
      parts.push(
        `${view.failedAttempts} attempt${view.failedAttempts === 1 ? '' : 's'} failed`,
      )
    return parts.join(' · ')
  }
  if (view.failedChecks > 0)
    return `${view.by} still sends to it · ${inARow(view.failedChecks, 'failed')}`
  return `in ${view.by}'s pool`
}

// Runs a button's work once at a time, and says what went wrong.
const busy = (button, work) => async () => {
  button.disabled = true
  try {
    await work()
  } catch (error) {
    say(error.message)
  } finally {
    button.disabled = false
  }
}

// Each card is built once and then updated in place: a frame a second
// changes only the text and classes that changed, so the browser lays out
// little, and a button keeps its focus and hover across frames.
const cards = new Map()
let drawnShape
// What a list element shows now, so that an unchanged one is left alone.
const shown = new WeakMap()

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text
}
function setAttribute(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value)
}
function setChildren(el, items, make) {
  const key = JSON.stringify(items)
  if (shown.get(el) === key) return
  shown.set(el, key)
  el.replaceChildren(...items.map(make))
}

function newCard(node) {
  // A button that calls one of the launcher's actions on this node.
  const action = (label, done) => {
    const button = element(
      'button',
      { class: label.toLowerCase(), 'aria-label': `${label} ${node.name}` },
      label,
    )
    button.addEventListener(
      'click',
      busy(button, async () =>
        say(done(await act(`/api/nodes/${node.name}/${label.toLowerCase()}`))),
      ),
    )
    return button
  }
  const parts = {
    badge: element('span', { class: 'badge' }),
    where: element('p', { class: 'where' }),
    figures: element('p', { class: 'figures' }),
    pools: element('div', { class: 'pools' }),
    facts: element('ul', { class: 'facts' }),
    kill: action(
      'Kill',
      () => `Killed ${node.name} (SIGKILL): watch who notices, and when.`,
    ),
    restart: action(
      'Restart',
      (answer) => `Restarted ${node.name}: pid ${answer.pid}.`,
    ),
  }
  parts.root = element(
    'article',
    { id: `node-${node.name}`, 'data-name': node.name },
    element(
      'h3',
      {},
      node.name,
      parts.badge,
      node.frontDoor ? element('span', { class: 'door' }, 'front door') : null,
    ),
    parts.where,
    parts.figures,
    parts.pools,
    parts.facts,
    element('p', { class: 'actions' }, parts.kill, parts.restart),
  )
  return parts
}

function updateCard(parts, node, sample) {
  const state = sample ? sample.state : node.state
  const where = [node.role, node.region, node.shard].filter(Boolean).join(' · ')
  const pools = (sample && sample.pools) || []
  const ejected = pools.filter((view) => view.state === 'down')
  const { root } = parts
  setAttribute(
    root,
    'class',
    `node ${state}${ejected.length ? ' ejected' : ''}${traced.has(node.name) ? ' traced' : ''}${node.frontDoor ? ' front-door' : ''}`,
  )
  setAttribute(root, 'data-state', state)
  if (pools.length === 0) root.removeAttribute('data-lb')
  else setAttribute(root, 'data-lb', ejected.length ? 'ejected' : 'up')
  setAttribute(
    root,
    'aria-label',
    [
      `${node.name}, ${state}`,
      ...ejected.map((view) => `ejected by ${view.by}`),
    ].join(', '),
  )
  setAttribute(parts.badge, 'class', `badge ${state}`)
  setText(parts.badge, state)
  setText(parts.where, `${where} · pid ${sample ? sample.pid : node.pid}`)
  setText(parts.figures, sample ? figures(sample) : '')
  setChildren(
    parts.pools,
    pools.map((view) => [view.state, poolLine(view)]),
    ([state, line]) => element('p', { class: `pool ${state}` }, line),
  )
  setChildren(parts.facts, sample ? sample.facts : [], (fact) =>
    element('li', {}, fact),
  )
  // A dead node can only be restarted.
  parts.kill.hidden = state !== 'up'
}

function drawTopology(topology, samples) {
  const byName = new Map(samples.map((s) => [s.name, s]))
  // The tiers and columns are rebuilt only when the topology's shape
  // changes (a shard added); every frame after that updates the cards.
  const shape = JSON.stringify(
    topology.nodes.map((n) => [n.name, n.tier, n.region, n.frontDoor]),
  )
  if (shape !== drawnShape) {
    drawnShape = shape
    cards.clear()
    for (const node of topology.nodes) cards.set(node.name, newCard(node))
    drawTiers(topology)
  }
  for (const node of topology.nodes)
    updateCard(cards.get(node.name), node, byName.get(node.name))
  drawArrows(topology.links || [])
}

function drawTiers(topology) {
  const regions = [
    ...new Set(topology.nodes.map((n) => n.region).filter(Boolean)),
  ]
  // A column of its own for what serves every region (step 7's witness).
  const shared = topology.nodes.some(
    (n) =>
      !n.region && topology.nodes.some((m) => m.tier === n.tier && m.region),
  )
  const rows = TIERS.concat(
    [...new Set(topology.nodes.map((n) => n.tier))].filter(
      (t) => !TIERS.includes(t),
    ),
  )
    .map((tier) => [tier, topology.nodes.filter((n) => n.tier === tier)])
    .filter(([, nodes]) => nodes.length > 0)
  $('tiers').replaceChildren(
    ...rows.map(([tier, nodes]) => {
      // Regions are columns, the same on every tier: the US on one side,
      // Asia on the other. A tier without regions spans them all.
      const columns = shared ? [...regions, ''] : regions
      const groups = nodes.some((n) => n.region)
        ? columns.map((r, i) => [
            r,
            nodes.filter((n) => (n.region || '') === r),
            i + 1,
          ])
        : [['', nodes, '1 / -1']]
      return element(
        'section',
        { class: 'tier', 'data-tier': tier },
        element('h3', { class: 'tier-name' }, TIER_NAMES[tier] || tier),
        element(
          'div',
          {
            class: 'groups',
            style: `grid-template-columns: repeat(${columns.length}, minmax(0, 1fr))`,
          },
          groups
            .filter(([, members]) => members.length > 0)
            .map(([region, members, column]) =>
              element(
                'div',
                { class: 'group', style: `grid-column: ${column}` },
                region
                  ? element('p', { class: 'region' }, `region ${region}`)
                  : null,
                members.map((node) => cards.get(node.name).root),
              ),
            ),
        ),
      )
    }),
  )
}

function drawArrows(links) {
  const svg = $('arrows')
  const box = $('diagram').getBoundingClientRect()
  setAttribute(svg, 'width', String(box.width))
  setAttribute(svg, 'height', String(box.height))
  const lines = links.flatMap(([from, to]) => {
    const a = document.getElementById(`node-${from}`)
    const b = document.getElementById(`node-${to}`)
    if (!a || !b) return []
    const ra = a.getBoundingClientRect()
    const rb = b.getBoundingClientRect()
    const x1 = ra.left + ra.width / 2 - box.left
    const y1 = ra.bottom - box.top
    const x2 = rb.left + rb.width / 2 - box.left
    const y2 = rb.top - box.top
    const lit = traced.has(from) && traced.has(to) ? ' lit' : ''
    return [
      `<line class="arrow${lit}" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2 - 4}" marker-end="url(#head)"/>`,
    ]
  })
  const drawing =
    '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0L10,5L0,10z" class="arrow-head"/></marker></defs>' +
    lines.join('')
  if (shown.get(svg) !== drawing) {
    shown.set(svg, drawing)
    svg.innerHTML = drawing
  }
}

function drawChart() {
  const svg = $('chart')
  const width = 300
  const height = 120
  const points = series.slice(-60)
  const maxRps = Math.max(10, ...points.map((p) => p.rps))
  const maxP99 = Math.max(10, ...points.map((p) => p.p99 || 0))
  const x = (i) => (width * (i + 60 - points.length)) / 59
  const line = (value, max) =>
    points
      .map(
        (p, i) =>
          `${x(i).toFixed(1)},${(height - 4 - ((height - 8) * (value(p) || 0)) / max).toFixed(1)}`,
      )
      .join(' ')
  svg.innerHTML =
    `<polyline class="rps" points="${line((p) => p.rps, maxRps)}"/>` +
    `<polyline class="p99" points="${line((p) => p.p99, maxP99)}"/>` +
    `<text x="2" y="14" class="axis">${maxRps} req/s · ${maxP99} ms</text>`
  const latest = points[points.length - 1]
  $('door-rps').textContent = latest ? latest.rps : 0
  $('door-p99').textContent =
    latest && latest.p99 != null ? `≤ ${latest.p99} ms` : '–'
}

function render(sample) {
  last = sample
  if (Date.now() > tracedUntil) traced = new Set()
  document.title = `Dashboard: ${sample.topology.step}`
  $('title').textContent = `Dashboard: ${sample.topology.step}`
  $('front-door').textContent = sample.topology.frontDoor
  if (sample.series)
    series =
      sample.series.length > 1
        ? sample.series
        : series.concat(sample.series).slice(-60)
  drawTopology(sample.topology, sample.nodes)
  drawChart()
  if (sample.burst) setText($('burst-progress'), sample.burst.line)
}

function showTrace(answer) {
  const hops = answer.hops || []
  $('hops').replaceChildren(
    ...hops.map((hop) =>
      element(
        'li',
        {},
        element('strong', {}, `${hop.request} → ${hop.status}`),
        element('span', { class: 'path' }, ` via ${hop.nodes.join(' → ')}`),
        element(
          'ul',
          { class: 'headers' },
          Object.entries(hop.headers).map(([name, value]) =>
            element('li', {}, element('code', {}, `${name}: ${value}`)),
          ),
        ),
      ),
    ),
  )
  if (answer.error) return say(answer.error)
  traced = new Set(answer.nodes)
  tracedUntil = Date.now() + 15_000
  if (answer.code) $('trace-code').value = answer.code
  say(`Traced ${answer.code}: ${answer.nodes.join(', ')}`)
  if (last) drawTopology(last.topology, last.nodes)
}

function submit(form, work) {
  const run = busy(form.querySelector('button'), work)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void run()
  })
}
// A new trace clears the last one first: a failed one must not leave an
// old path on screen.
async function traceOf(body) {
  $('hops').replaceChildren()
  traced = new Set()
  showTrace(await act('/api/trace', body))
}
submit($('shorten'), () => traceOf({ url: $('trace-url').value }))
submit($('follow'), () => traceOf({ code: $('trace-code').value }))
submit($('burst'), async () => {
  const code = $('trace-code').value || undefined
  const answer = await act('/api/burst', {
    requests: Number($('burst-requests').value),
    code,
  })
  say(`Burst started: ${answer.requests} × GET ${answer.path}`)
})

function connect() {
  const events = new EventSource(`/events?token=${encodeURIComponent(token)}`)
  events.onopen = () => {
    $('connection').textContent = 'live'
    $('connection').className = 'badge up'
  }
  events.onmessage = (event) => render(JSON.parse(event.data))
  events.onerror = () => {
    $('connection').textContent = 'reconnecting'
    $('connection').className = 'badge down'
  }
}
window.addEventListener(
  'resize',
  () => last && drawArrows(last.topology.links || []),
)
connect()

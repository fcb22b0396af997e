import { barChart } from './charts'

// Well-formed enough for a browser: every tag closed in order, no bare '&'.
function checkWellFormed(svg: string) {
  const open: string[] = []
  for (const [tag, closing, name, selfClosing] of svg.matchAll(
    /<(\/?)([a-z]+)[^>]*?(\/?)>/g,
  )) {
    if (closing) expect(open.pop()).toBe(name)
    else if (!selfClosing) open.push(name!)
    expect(tag).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/)
  }
  expect(open).toEqual([])
  expect(svg.replace(/<[^>]*>/g, '')).not.toMatch(/&(?!amp;|lt;|gt;|quot;)|</)
}

describe('the bench charts (hand-written SVG)', () => {
  it('draws one bar per row, as long as its value, with the value beside it', () => {
    const svg = barChart({
      title: 'CPU per request',
      unit: 'CPU ms per 1,000 requests',
      bars: [
        { label: 'step01-single-server', value: 400 },
        { label: 'step05-caching', value: 1200 },
      ],
    })
    checkWellFormed(svg)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    const widths = [
      ...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g),
    ].map((match) => Number(match[1]))
    expect(widths).toHaveLength(2)
    expect(widths[1]! / widths[0]!).toBeCloseTo(3, 1)
    expect(svg).toContain('>step05-caching</text>')
    expect(svg).toContain('>1,200</text>')
  })

  it('says why a bar is missing, and escapes what it is given', () => {
    const svg = barChart({
      title: 'Proxies <same backends> & NGINX',
      unit: 'req/s',
      bars: [
        { label: 'minimal proxy', value: 3000 },
        { label: 'nginx', value: undefined, note: 'nginx not on PATH' },
      ],
    })
    checkWellFormed(svg)
    expect(svg).toContain('Proxies &lt;same backends&gt; &amp; NGINX')
    expect(svg.match(/<rect x="\d+" y/g)).toHaveLength(1)
    expect(svg).toContain('>nginx not on PATH</text>')
  })
})

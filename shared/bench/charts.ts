// The bench's figures as pictures for the README: one horizontal bar chart
// per figure, written by hand as SVG (no charting package to install, and a
// file that any browser and GitHub show as it is). Large type: the charts are
// read on a projector too.

export interface Bar {
  label: string
  /** undefined draws no bar, only the note (a measurement that did not run). */
  value: number | undefined
  /** Said after the value, e.g. "nginx not on PATH". */
  note?: string
}

export interface Chart {
  title: string
  /** The unit, said once under the title: "CPU ms per 1,000 requests". */
  unit: string
  bars: Bar[]
}

const WIDTH = 960
const LABEL_WIDTH = 340
const ROW = 44
const TOP = 96
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'

const escape = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')

const formatted = (value: number) =>
  value.toLocaleString('en', { maximumFractionDigits: value < 10 ? 1 : 0 })

export function barChart({ title, unit, bars }: Chart): string {
  const height = TOP + bars.length * ROW + 24
  // Room on the right for the longest value, so that it never runs off.
  const room = WIDTH - LABEL_WIDTH - 190
  const max = Math.max(0, ...bars.map((bar) => bar.value ?? 0))
  const rows = bars.map((bar, i) => {
    const y = TOP + i * ROW
    const width = max > 0 && bar.value ? (bar.value / max) * room : 0
    const said = [
      bar.value === undefined ? '' : formatted(bar.value),
      bar.note ?? '',
    ]
      .filter(Boolean)
      .join(' · ')
    return [
      `  <text x="${LABEL_WIDTH - 12}" y="${y + 27}" text-anchor="end" font-size="20">${escape(bar.label)}</text>`,
      bar.value === undefined
        ? ''
        : `  <rect x="${LABEL_WIDTH}" y="${y + 6}" width="${width.toFixed(1)}" height="${ROW - 12}" rx="3" fill="#3b7dd8"><title>${escape(`${bar.label}: ${said}`)}</title></rect>`,
      `  <text x="${(LABEL_WIDTH + width + 10).toFixed(1)}" y="${y + 27}" font-size="20" fill="#222">${escape(said)}</text>`,
    ]
      .filter(Boolean)
      .join('\n')
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `  <rect width="100%" height="100%" fill="#fff"/>`,
    `  <text x="20" y="38" font-size="26" font-weight="bold">${escape(title)}</text>`,
    `  <text x="20" y="70" font-size="18" fill="#555">${escape(unit)}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n')
}

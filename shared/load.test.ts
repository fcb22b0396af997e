import { NO_FIGURE } from './bench/cpu'
import { robustness } from './load'

describe('robustness', () => {
  it('names the figures that hold and the ones that move, labels left out', () => {
    expect(
      robustness([{ step: 'step05', 'DB reads / 1,000': 3, 'req/s': 900 }]),
    ).toBe(
      "Hold on a busy machine: DB reads / 1,000. Move with the machine's load: req/s.",
    )
  })

  it('keeps a column whose every cell was too small to measure', () => {
    const rows = [
      { path: 'origin', 'CPU ms / 1,000': NO_FIGURE, 'p50 ms': 200 },
      { path: 'edge', 'CPU ms / 1,000': NO_FIGURE, 'p50 ms': 2 },
    ]
    expect(robustness(rows)).toBe(
      "Hold on a busy machine: CPU ms / 1,000. Move with the machine's load: p50 ms.",
    )
  })
})

// npm run load -- step05: the same load against this step and the one
// before it, side by side (see shared/load.ts for what each step measures).
import { comparisons, robustness } from '../load'
import { findStep } from '../steps'

async function main() {
  const step = findStep(process.argv[2] ?? '')
  if (!step || step.number < 2) {
    console.error(
      'Usage: npm run load -- step05   (compares a step, from step 2 on, with the one before)',
    )
    process.exit(2)
  }
  for (const comparison of comparisons(step)) {
    console.log(`${comparison.heading}...`)
    if (comparison.note) console.log(`(${comparison.note})`)
    const rows = await comparison.run()
    console.table(rows)
    // Which columns to trust on a laptop that is doing other things too.
    console.log(robustness(rows))
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)

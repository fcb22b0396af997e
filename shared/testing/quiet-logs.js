// In tests, components that run in-process would print their operational
// log lines (promotions, health changes) between the test results. Keep them
// out unless WORKSHOP_LOGS=1. console.error (bugs) always shows, but a gap of
// an exercise skeleton (todo()) is one line, not a stack trace per request.
if (!process.env.WORKSHOP_LOGS) {
  console.log = () => {}
  console.info = () => {}
  const error = console.error
  console.error = (...args) => {
    const gap = args.find((arg) => arg && arg.name === 'NotImplementedError')
    if (gap) error(`(exercise gap) ${gap.message}`)
    else error(...args)
  }
}

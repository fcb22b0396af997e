// In tests, components that run in-process would print their operational
// log lines (promotions, health changes) between the test results. Keep them
// out unless WORKSHOP_LOGS=1; console.error (bugs) always shows.
if (!process.env.WORKSHOP_LOGS) {
  console.log = () => {}
  console.info = () => {}
}

// A Jest reporter that keeps the results of a learner's run in the file
// WORKSHOP_RESULTS names, so `npm run hint` knows the first red test without
// running the tests again.
const { writeFileSync } = require('node:fs')

module.exports = class ResultsReporter {
  onRunComplete(contexts, results) {
    const file = process.env.WORKSHOP_RESULTS
    if (!file) return
    const tests = results.testResults.map((suite) => ({
      file: suite.testFilePath,
      failure:
        suite.failureMessage && !suite.testResults.length
          ? suite.failureMessage
          : undefined,
      tests: suite.testResults.map((test) => ({
        name: test.fullName,
        status: test.status,
        message: test.failureMessages.join('\n'),
      })),
    }))
    writeFileSync(
      file,
      JSON.stringify({ at: Date.now(), suites: tests }, null, 2),
    )
  }
}

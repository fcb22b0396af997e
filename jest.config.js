// Two projects: the steps' own tests run against each step's src/, and the
// exercise tests (test/<concept>.test.ts of a step that has an exercise) run
// with the concept file swapped for the learner's copy in exercises/ or the
// reference in solutions/ (WORKSHOP_EXERCISES, set by `npm test`). The long
// fault runs (*.faults.test.ts: recorded histories, repetitions) are a third
// project, run by `npm run test:faults` (WORKSHOP_FAULTS=1) instead.
require('tsx/cjs/api').register()
const { listSteps, exerciseTestFiles } = require('./shared/steps.ts')

const exerciseTests = listSteps().flatMap(exerciseTestFiles)
const transform = { '^.+\\.ts$': ['@swc/jest'] }
const common = {
  transform,
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/shared/testing/quiet-logs.js'],
}

module.exports = {
  // Fault tests start real processes; on a loaded 2-core machine give them room.
  testTimeout: 30_000,
  projects: [
    {
      ...common,
      displayName: 'steps',
      testMatch: [
        '<rootDir>/steps/*/test/**/*.test.ts',
        '<rootDir>/shared/**/*.test.ts',
      ],
      testPathIgnorePatterns: [
        '/node_modules/',
        '\\.faults\\.test\\.ts$',
        '\\.browser\\.test\\.ts$',
        ...exerciseTests,
      ],
    },
    {
      ...common,
      displayName: 'exercise',
      testMatch: exerciseTests.length ? exerciseTests : ['<rootDir>/none'],
      resolver: '<rootDir>/shared/testing/exercise-resolver.js',
    },
    ...(process.env.WORKSHOP_FAULTS
      ? [
          {
            ...common,
            displayName: 'faults',
            testMatch: ['<rootDir>/steps/*/test/**/*.faults.test.ts'],
          },
        ]
      : []),
    // The dashboard in a real Chromium (npm run test:browser), so that
    // `npm test` needs no browser.
    ...(process.env.WORKSHOP_BROWSER
      ? [
          {
            ...common,
            displayName: 'browser',
            testMatch: ['<rootDir>/shared/**/*.browser.test.ts'],
          },
        ]
      : []),
  ],
}

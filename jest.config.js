// Two projects: the steps' own tests run against each step's src/, and the
// exercise tests (test/<concept>.test.ts of a step that has an exercise) run
// with the concept file swapped for the learner's copy in exercises/ or the
// reference in solutions/ (WORKSHOP_EXERCISES, set by `npm test`).
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
      testPathIgnorePatterns: ['/node_modules/', ...exerciseTests],
    },
    {
      ...common,
      displayName: 'exercise',
      testMatch: exerciseTests.length ? exerciseTests : ['<rootDir>/none'],
      resolver: '<rootDir>/shared/testing/exercise-resolver.js',
    },
  ],
}

// Lint: ESLint's and typescript-eslint's recommended rules. Masters of
// exercises (steps/*/exercise/) hold both the solution and the skeleton, so
// they are linted through their generated copies instead.
const js = require('@eslint/js')
const tseslint = require('typescript-eslint')
const globals = require('globals')

module.exports = tseslint.config(
  {
    ignores: [
      'node_modules/',
      'data/',
      '.run/',
      'coverage/',
      'steps/*/exercise/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'none', caughtErrors: 'none' },
      ],
    },
  },
  {
    // A skeleton keeps the imports and helpers its learner will need.
    files: ['exercises/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': 'off',
      'prefer-const': 'off',
    },
  },
  {
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['steps/*/src/app/public/**/*.js', 'shared/dashboard/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'script' },
  },
)

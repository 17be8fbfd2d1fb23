/** @type {import('jest').Config} */
module.exports = {
  // tfjs-node's binding creates typed arrays in Node's own realm: a 'node'
  // environment and no module resets keep one tfjs instance and one registry.
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', {tsconfig: 'tsconfig.json', diagnostics: false}],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: ['<rootDir>/test/utils/setup-env.js'],
  testTimeout: 120000,
  maxWorkers: 2,
};

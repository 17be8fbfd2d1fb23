// Quiet libtensorflow's start-up lines in the test workers, as the examples do (README).
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

/** @type {import('jest').Config} */
module.exports = {
  // tfjs-node's binding creates typed arrays in Node's own realm: a 'node'
  // environment and no module resets keep one tfjs instance and one registry.
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The browser test has its own command (npm run test:browser).
  testPathIgnorePatterns: ['/node_modules/', '\\.browser\\.test\\.ts$'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', {tsconfig: 'tsconfig.json', diagnostics: false}],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 120000,
  maxWorkers: 2,
};

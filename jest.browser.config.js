// The browser end-to-end test (npm run test:browser): headless Chromium via playwright-core.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {...base, testMatch: ['**/*.browser.test.ts'], testPathIgnorePatterns: ['/node_modules/']};

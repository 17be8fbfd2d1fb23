#!/usr/bin/env node
/**
 * This repository's own development setup, run first by `npm test`,
 * `npm run demo`, `npm run bench` and `npm run evidence` (never at install
 * time: the published package has no install-time script, and `scripts/` is
 * not shipped): builds the native bindings of tfjs-node and tfjs-node-gpu,
 * offline if need be (bin/install-tfjs-node.js). Does nothing when they are
 * already built.
 */
'use strict';
const path = require('path');

require(path.join(__dirname, '..', 'bin', 'install-tfjs-node.js')).main(['--quiet', '--root', path.join(__dirname, '..')]);

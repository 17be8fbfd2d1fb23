#!/usr/bin/env node
/**
 * This repository's own development setup, run by npm's `prepare` after
 * `npm ci` / `npm install` in a clone (npm never runs it when the package is
 * installed as a dependency): builds the native bindings of tfjs-node and
 * tfjs-node-gpu, offline if need be (bin/install-tfjs-node.js). Does nothing
 * when they are already built.
 */
'use strict';
const path = require('path');

require(path.join(__dirname, '..', 'bin', 'install-tfjs-node.js')).main(['--quiet', '--root', path.join(__dirname, '..')]);

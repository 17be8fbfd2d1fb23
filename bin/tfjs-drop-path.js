#!/usr/bin/env node
/**
 * The package's command line. One subcommand, run on purpose (installing the
 * package runs nothing):
 *   npx tfjs-drop-path install-tfjs-node [options]   builds tfjs-node's binding offline
 *                                                    (--help for its options)
 */
'use strict';
const [command, ...rest] = process.argv.slice(2);
if (command === 'install-tfjs-node') {
  require('./install-tfjs-node.js').main(rest);
} else {
  console.error(`tfjs-drop-path: unknown command ${command === undefined ? '(none)' : `"${command}"`}. ` +
    'Commands: install-tfjs-node [--root DIR] [--package NAME] [--wheel FILE] [--offline] [--force] [--quiet].');
  process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 2);
}

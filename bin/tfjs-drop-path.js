#!/usr/bin/env node
/**
 * The package's command line, run on purpose (installing the package runs nothing):
 *   npx tfjs-drop-path install-tfjs-node [options]   builds tfjs-node's binding offline
 *                                                    (--help for its options)
 *   npx tfjs-drop-path keras-to-tfjs MODEL.keras OUT   a Keras 3 .keras file → model.json + shards
 *   npx tfjs-drop-path tfjs-to-keras MODEL.json OUT.keras   model.json + shards → a Keras 3 .keras file
 */
'use strict';
const [command, ...rest] = process.argv.slice(2);
if (command === 'install-tfjs-node') {
  require('./install-tfjs-node.js').main(rest);
} else if (command === 'keras-to-tfjs') {
  require('./keras-to-tfjs.js').main(rest).then((code) => process.exit(code), (e) => {
    console.error(`keras-to-tfjs: ${e.message}`);
    process.exit(1);
  });
} else if (command === 'tfjs-to-keras') {
  require('./tfjs-to-keras.js').main(rest).then((code) => process.exit(code), (e) => {
    console.error(`tfjs-to-keras: ${e.message}`);
    process.exit(1);
  });
} else {
  console.error(`tfjs-drop-path: unknown command ${command === undefined ? '(none)' : `"${command}"`}. ` +
    'Commands: install-tfjs-node [--root DIR] [--package NAME] [--wheel FILE] [--offline] [--force] [--quiet]; ' +
    'keras-to-tfjs MODEL.keras OUT_DIR; tfjs-to-keras MODEL.json OUT.keras.');
  process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 2);
}

#!/usr/bin/env node
/**
 * The package's command line, run on purpose (installing the package runs nothing):
 *   npx tfjs-drop-path install-tfjs-node [options]   builds tfjs-node's binding offline
 *                                                    (--help for its options)
 *   npx tfjs-drop-path keras-to-tfjs MODEL.keras OUT   a Keras 3 .keras file → model.json + shards
 *   npx tfjs-drop-path tfjs-to-keras MODEL.json OUT.keras   model.json + shards → a Keras 3 .keras file
 */
'use strict';
const USAGE = `usage: tfjs-drop-path <command> [options]   (each command's --help says more)
  install-tfjs-node [--root DIR] [--package NAME] [--wheel FILE] [--offline] [--force] [--quiet]
                    builds @tensorflow/tfjs-node's native binding, offline if need be
  keras-to-tfjs MODEL.keras OUT_DIR     a Keras 3 .keras file -> OUT_DIR/model.json + weights
  tfjs-to-keras MODEL.json OUT.keras    a TF.js model.json + weights -> a Keras 3 .keras file
  add-drop-path IN OUT --rate R [--schedule S] [--strategy mask|skip|auto]
                    stochastic depth on every residual branch of a model.json or .keras file`;
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
} else if (command === 'add-drop-path') {
  require('./add-drop-path.js').main(rest).then((code) => process.exit(code), (e) => {
    console.error(`add-drop-path: ${e.message}`);
    process.exit(1);
  });
} else if (command === '--help' || command === '-h' || command === 'help') {
  console.log(USAGE);
  process.exit(0);
} else {
  console.error(`tfjs-drop-path: ${command === undefined ? 'no command given' : `unknown command "${command}"`}.\n${USAGE}`);
  process.exit(2);
}

/**
 * `npx tfjs-drop-path keras-to-tfjs model.keras out/`: a Keras 3 `.keras` file
 * → `out/model.json` + weight shards, loadable by `tf.loadLayersModel` with
 * tfjs-drop-path imported. Needs @tensorflow/tfjs-node (or -node-gpu) for
 * `file://` saving.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const USAGE = 'usage: tfjs-drop-path keras-to-tfjs MODEL.keras OUT_DIR';

/** tfjs-node (or -node-gpu), started quiet (libtensorflow's INFO lines hidden unless the user set TF_CPP_MIN_LOG_LEVEL). */
function loadTf() {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  for (const name of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    try {
      require.resolve(name);
    } catch {
      continue;
    }
    require('../dist/src/node_compat');
    return require(name);
  }
  throw new Error('keras-to-tfjs writes files through @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu; install one ' +
    '(npx tfjs-drop-path install-tfjs-node builds it offline).');
}

async function main(args) {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (args.length !== 2) {
    console.error(`keras-to-tfjs: expected a .keras file and an output folder, but received ${args.length} argument(s). ${USAGE}`);
    return 2;
  }
  const [input, out] = args;
  if (!fs.existsSync(input)) {
    console.error(`keras-to-tfjs: '${input}' does not exist.`);
    return 2;
  }
  loadTf(); // registers the tensorflow backend and its file:// handler
  const dp = require('../dist/keras/index.js');
  const started = Date.now();
  const size = fs.statSync(input).size;
  process.stderr.write(`reading ${input} (${(size / 2 ** 20).toFixed(1)} MB)…\n`);
  const model = await dp.loadKerasModel(input, {onNote: (n) => process.stderr.write(`  note: ${n}\n`)});
  process.stderr.write(`  ${model.layers.length} layers, ${model.countParams()} parameters (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  // The folder holds the old model or the new one, never a mix: weights first, model.json last (atomically).
  const {saveModelFolder} = require('../dist/src/files.js');
  await saveModelFolder(model, path.resolve(out));
  console.log(`wrote ${path.join(out, 'model.json')} and its weights in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

module.exports = {main, loadTf};

/**
 * `npx tfjs-drop-path tfjs-to-keras model.json out.keras`: a TF.js layers model
 * (model.json + shards, this package's layers included) → a Keras 3 `.keras`
 * file that `keras.saving.load_model` opens with the Python twin
 * `tfjs_drop_path` imported. Needs @tensorflow/tfjs-node (or -node-gpu) to run the
 * model. model.json is read as untrusted input (files inside its own folder only).
 */
'use strict';
const fs = require('fs');

const {loadTf} = require('./keras-to-tfjs.js');

const USAGE = 'usage: tfjs-drop-path tfjs-to-keras MODEL.json OUT.keras';

async function main(args) {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (args.length !== 2) {
    console.error(`tfjs-to-keras: expected a model.json and an output .keras file, but received ${args.length} argument(s). ${USAGE}`);
    return 2;
  }
  const [input, out] = args;
  if (!fs.existsSync(input)) {
    console.error(`tfjs-to-keras: '${input}' does not exist.`);
    return 2;
  }
  if (!out.endsWith('.keras')) {
    console.error(`tfjs-to-keras: the output must be a .keras file, but received '${out}'.`);
    return 2;
  }
  loadTf();
  const dp = require('../dist/keras/index.js');
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`reading ${input}…\n`);
  // model.json and its weight files are read as untrusted input: only files inside its own folder.
  const model = await dp.loadTfjsModelFile(input);
  process.stderr.write(`  ${model.layers.length} layers, ${model.countParams()} parameters (${seconds()} s); writing ${out}…\n`);
  const bytes = await dp.saveKerasModel(model, out);
  console.log(`wrote ${out} (${(bytes.length / 2 ** 20).toFixed(1)} MB) in ${seconds()} s`);
  // Without the twin, Keras only says "<class Functional> could not be deserialized".
  process.stderr.write('  open it in Keras 3 with the Python twin imported first: pip install tfjs_drop_path (python/ of ' +
    'this package\'s repository), then import tfjs_drop_path; keras.saving.load_model(...)\n');
  return 0;
}

module.exports = {main};

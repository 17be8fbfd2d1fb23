/**
 * `npx tfjs-drop-path add-drop-path IN OUT --rate R [--schedule S] [--strategy T] [--mode M] [--seed N]`:
 * stochastic depth added to a model file. IN is a TF.js model.json (with its weight files) or a Keras 3
 * .keras file, read as untrusted input; OUT is a .keras file or a folder for model.json + weights, written
 * so that a failed write leaves what was there whole. The residual blocks found are printed as a table.
 */
'use strict';
const path = require('path');

const {loadTf} = require('./keras-to-tfjs.js');

const USAGE = 'usage: tfjs-drop-path add-drop-path IN OUT --rate R [--schedule linspace|linear|uniform] ' +
  '[--strategy mask|skip|auto] [--mode row|batch] [--seed N]\n' +
  '  IN: a model.json or a .keras file; OUT: a .keras file, or a folder for model.json and its weights';

const FLAGS = {'--rate': 'rate', '--schedule': 'schedule', '--strategy': 'strategy', '--mode': 'mode', '--seed': 'seed'};

function parse(args) {
  const positional = [];
  const opts = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a in FLAGS) {
      const value = args[++i];
      if (value === undefined) throw new Error(`${a} needs a value. ${USAGE}`);
      const key = FLAGS[a];
      opts[key] = key === 'rate' || key === 'seed' ? Number(value) : value;
      if ((key === 'rate' || key === 'seed') && !Number.isFinite(opts[key])) throw new Error(`${a} must be a number, but received '${value}'.`);
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option '${a}'; the options are ${Object.keys(FLAGS).join(', ')}. ${USAGE}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) throw new Error(`expected IN and OUT, but received ${positional.length} argument(s). ${USAGE}`);
  if (opts.rate === undefined) throw new Error(`--rate is needed (the deepest block's drop rate). ${USAGE}`);
  return {input: positional[0], output: positional[1], opts};
}

async function main(args) {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let parsed;
  try {
    parsed = parse(args);
  } catch (e) {
    console.error(`add-drop-path: ${e.message}`);
    return 2;
  }
  const {input, output, opts} = parsed;
  loadTf();
  const dp = require('../dist/index.js');
  const keras = require('../dist/keras/index.js');
  const files = require('../dist/src/files.js');
  const started = Date.now();
  process.stderr.write(`reading ${input}…\n`);
  const model = input.endsWith('.keras') ? await keras.loadKerasModel(input) : await keras.loadTfjsModelFile(input);
  const {model: out, text} = dp.addDropPath(model, opts);
  console.log(text);
  if (output.endsWith('.keras')) {
    await keras.saveKerasModel(out, output);
    console.log(`wrote ${output} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } else {
    await files.saveModelFolder(out, path.resolve(output));
    console.log(`wrote ${path.join(output, 'model.json')} and its weights in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return 0;
}

module.exports = {main};

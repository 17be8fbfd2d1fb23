#!/usr/bin/env node
/**
 * The TF.js side of the Keras round trips that python/tests/test_bridge.py runs (needs `npm run build` first).
 *
 *   node scripts/tfjs_keras_models.js make OUT_DIR
 *     Builds models in TF.js with fixed seeds and every weight perturbed (so that a swapped variable or a
 *     scale of 1e-6 cannot hide), writes each as NAME.keras with saveKerasModel, and NAME.json with a fixed
 *     input and TF.js' inference output (logits: the heads are linear).
 *   node scripts/tfjs_keras_models.js predict MODEL.keras IN.json OUT.json [--fit]
 *     Loads MODEL.keras with loadKerasModel, writes its inference output on IN.json's input to OUT.json;
 *     with --fit, first checks that one fit step runs (finite loss) on a copy, and reports the loss.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const tf = require('@tensorflow/tfjs-node');
const dp = {...require('../dist/index.js'), ...require('../dist/keras/index.js')};

/** Every weight moved by a seeded normal draw (BN variances kept positive). */
function perturb(model, seed) {
  model.weights.forEach((w, i) => {
    const v = w.read();
    const moved = tf.tidy(() => {
      const m = v.add(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed + i));
      return /moving_variance|variance$/.test(w.originalName) ? m.abs().add(0.1) : m;
    });
    w.write(moved);
    moved.dispose();
  });
}

/** The resnet with a linear head (logits compared, not softmax): the same model, the head's activation linear. */
function resnetLogits(blockType) {
  const built = dp.resnet({inputShape: [12, 12, 3], numClasses: 5, blockType, seed: 11, dropPathRate: 0.3,
    stages: [{filters: 8, blocks: 2}, {filters: 16, blocks: 2, strides: 2}], name: `resnet_${blockType}`});
  const topology = built.toJSON(null, false);
  const head = topology.config.layers.find((l) => l.name === 'head');
  head.config.activation = 'linear';
  return tf.models.modelFromJSON({modelTopology: topology}).then((model) => {
    model.setWeights(built.getWeights());
    built.dispose();
    return model;
  });
}

/** One layer of every class saveKerasModel writes as a Keras built-in, and this package's layers. */
function zoo() {
  const L = tf.layers;
  const input = tf.input({shape: [10, 10, 3], name: 'zoo_input'});
  let x = new dp.Normalization({mean: [0.1, -0.2, 0.3], variance: [1.5, 0.5, 2], name: 'norm_fixed'}).apply(input);
  x = new dp.Normalization({name: 'norm_weights'}).apply(x);
  x = L.rescaling({scale: 0.5, offset: 0.25, name: 'rescale'}).apply(x);
  x = L.zeroPadding2d({padding: [[1, 0], [0, 1]], name: 'pad'}).apply(x);
  x = L.conv2d({filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: 'heNormal', name: 'conv_relu'}).apply(x);
  const a = L.depthwiseConv2d({kernelSize: 3, padding: 'same', depthMultiplier: 2, name: 'dw'}).apply(x);
  const b = L.separableConv2d({filters: 12, kernelSize: 3, padding: 'same', name: 'sep'}).apply(x);
  let y = L.add({name: 'add'}).apply([a, b]);
  y = L.batchNormalization({momentum: 0.9, name: 'bn'}).apply(y);
  y = L.activation({activation: 'swish', name: 'swish'}).apply(y);
  const dropped = new dp.DropPath({rate: 0.2, seed: 5, name: 'drop_path'}).apply(y);
  y = L.multiply({name: 'mul'}).apply([y, L.reLU({maxValue: 6, name: 'relu6'}).apply(dropped)]);
  y = L.layerNormalization({epsilon: 1e-5, name: 'ln'}).apply(y);
  y = new dp.LayerScale({initValues: 0.5, projectionDim: 12, name: 'layer_scale'}).apply(y);
  y = new dp.StochasticDepth({dropPathRate: 0.1, name: 'convnext_sd'}).apply(y);
  const p = L.maxPooling2d({poolSize: 2, name: 'max_pool'}).apply(y);
  const q = L.averagePooling2d({poolSize: 2, name: 'avg_pool'}).apply(y);
  let z = L.concatenate({axis: -1, name: 'concat'}).apply([p, L.leakyReLU({alpha: 0.2, name: 'leaky'}).apply(q)]);
  z = L.dropout({rate: 0.3, name: 'dropout'}).apply(z);
  z = new dp.KerasDropout({rate: 0.2, noiseShape: [null, 1, 1, null], seed: 4, name: 'spatial_dropout'}).apply(z);
  const g1 = L.globalAveragePooling2d({name: 'gap'}).apply(z);
  const g2 = L.globalMaxPooling2d({name: 'gmp'}).apply(z);
  const flat = L.flatten({name: 'flatten'}).apply(L.reshape({targetShape: [4, 6], name: 'reshape'}).apply(
    L.maximum({name: 'max'}).apply([g1, g2])));
  const out = L.dense({units: 4, kernelRegularizer: tf.regularizers.l2({l2: 1e-4}), name: 'logits'}).apply(
    L.average({name: 'avg'}).apply([L.minimum({name: 'min'}).apply([flat, L.dense({units: 24, name: 'dense_linear'}).apply(flat)]), L.dense({units: 24, activation: 'tanh', name: 'dense_tanh'}).apply(flat)]));
  return tf.model({inputs: input, outputs: out, name: 'zoo'});
}

function sequential() {
  const model = tf.sequential({name: 'seq', layers: [
    tf.layers.conv2d({inputShape: [8, 8, 2], filters: 4, kernelSize: 3, name: 'seq_conv'}),
    new dp.DropPath({rate: 0.25, mode: 'batch', name: 'seq_drop'}),
    tf.layers.flatten({name: 'seq_flat'}),
    tf.layers.dense({units: 3, name: 'seq_dense'}),
  ]});
  return model;
}

/**
 * A functional model with a functional model nested in it (Keras writes it as Functional, its weights under
 * layers/functional/…), residual blocks in both, given stochastic depth by addDropPath.
 */
function nested() {
  const L = tf.layers;
  const innerIn = tf.input({shape: [6, 6, 4], name: 'inner_in'});
  let y = innerIn;
  for (let i = 0; i < 2; i++) {
    const b = L.conv2d({filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: `inner_b${i}`}).apply(y);
    y = L.add({name: `inner_add${i}`}).apply([y, L.conv2d({filters: 4, kernelSize: 1, name: `inner_b${i}_out`}).apply(b)]);
  }
  const inner = tf.model({inputs: innerIn, outputs: L.globalAveragePooling2d({name: 'inner_pool'}).apply(y), name: 'inner'});
  const input = tf.input({shape: [6, 6, 3], name: 'outer_in'});
  const stem = L.conv2d({filters: 4, kernelSize: 1, name: 'outer_stem'}).apply(input);
  const res = L.add({name: 'outer_add'}).apply([stem, L.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'outer_branch'}).apply(stem)]);
  const out = L.dense({units: 3, name: 'head'}).apply(inner.apply(res));
  return dp.addDropPath(tf.model({inputs: input, outputs: out, name: 'nested'}), {rate: 0.3, seed: 4}).model;
}

function writeJson(file, x, y) {
  fs.writeFileSync(file, JSON.stringify({x: Array.from(x.dataSync()), xShape: x.shape, y: Array.from(y.dataSync()), yShape: y.shape}));
}

async function make(outDir) {
  fs.mkdirSync(outDir, {recursive: true});
  const models = {
    resnet_drop_path: await resnetLogits('dropPath'),
    resnet_residual: await resnetLogits('stochasticResidual'),
    zoo: zoo(),
    sequential: sequential(),
    nested: nested(),
  };
  let seed = 100;
  for (const [name, model] of Object.entries(models)) {
    perturb(model, (seed += 100));
    const shape = [6, ...model.inputs[0].shape.slice(1)];
    const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
    const y = model.predict(x);
    await dp.saveKerasModel(model, path.join(outDir, `${name}.keras`));
    writeJson(path.join(outDir, `${name}.json`), x, y);
    tf.dispose([x, y]);
    model.dispose();
  }
  console.log(`wrote ${Object.keys(models).join(', ')} to ${outDir}`);
}

async function predict(file, inFile, outFile, fit) {
  const model = await dp.loadKerasModel(file);
  const data = JSON.parse(fs.readFileSync(inFile, 'utf8'));
  const x = tf.tensor(data.x, data.xShape, 'float32');
  const y = model.predict(x);
  const result = {y: Array.from(y.dataSync()), yShape: y.shape};
  if (fit) {
    model.compile({optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError'});
    const h = await model.fit(x, tf.zerosLike(y), {epochs: 1, batchSize: x.shape[0], verbose: 0});
    result.loss = h.history.loss[0];
  }
  fs.writeFileSync(outFile, JSON.stringify(result));
  console.log(`predicted ${path.basename(file)}${fit ? `; one fit step, loss ${result.loss}` : ''}`);
}

const [mode, ...args] = process.argv.slice(2);
const run = mode === 'make' && args.length === 1 ? make(args[0]) :
  mode === 'predict' && args.length >= 3 ? predict(args[0], args[1], args[2], args.includes('--fit')) : null;
if (!run) {
  console.error('usage: node scripts/tfjs_keras_models.js make OUT_DIR | predict MODEL.keras IN.json OUT.json [--fit]');
  process.exit(2);
}
run.catch((e) => {
  console.error(e && e.stack || e);
  process.exit(1);
});

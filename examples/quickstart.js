/**
 * Quick start: add DropPath to a Keras-style (tf.layers) residual model, train
 * it on tfjs-node, save it with tf.io and load it back.
 *
 *   npm run build && node examples/quickstart.js
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
// Quiet libtensorflow's start-up lines (README: "What you see at start-up"); values you set are kept.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
require('tfjs-drop-path/node-compat');  // Node 22+: before tfjs-node (README: Node.js versions)
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');

async function main() {
  // A small residual MLP: x + DropPath(dense(dense(x))), three blocks, rates 0.1, 0.2, 0.3.
  const input = tf.input({shape: [16]});
  let x = input;
  for (let i = 0; i < 3; i++) {
    let branch = tf.layers.dense({units: 32, activation: 'relu', name: `block${i}_fc1`}).apply(x);
    branch = tf.layers.dense({units: 16, name: `block${i}_fc2`}).apply(branch);
    branch = dp.layers.dropPath({rate: [0.1, 0.2, 0.3][i], seed: i, name: `block${i}_drop_path`}).apply(branch);
    x = tf.layers.add({name: `block${i}_add`}).apply([x, branch]);
  }
  const output = tf.layers.dense({units: 1, name: 'head'}).apply(x);
  const model = tf.model({inputs: input, outputs: output});
  model.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});

  // A regression target the network can learn: y = sum(sin(x)).
  const xs = tf.randomNormal([512, 16], 0, 1, 'float32', 1);
  const ys = tf.sum(tf.sin(xs), 1, true);
  const history = await model.fit(xs, ys, {epochs: 10, batchSize: 64, verbose: 0, validationSplit: 0.25});
  const loss = history.history.loss;
  console.log(`backend ${tf.getBackend()}; train loss ${loss[0].toFixed(3)} -> ${loss[loss.length - 1].toFixed(3)}`);

  // DropPath is the identity outside training: predict is deterministic.
  const a = model.predict(xs).dataSync();
  const b = model.predict(xs).dataSync();
  console.log(`predict twice, same outputs: ${a.every((v, i) => v === b[i])}`);

  // Save with tf.io and load back: the DropPath layers come back with their config.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-drop-path-quickstart-'));
  await model.save(`file://${dir}`);
  const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
  const c = loaded.predict(xs).dataSync();
  const rates = loaded.layers.filter((l) => l instanceof dp.DropPath).map((l) => l.rate);
  console.log(`saved to ${dir}; reloaded DropPath rates ${JSON.stringify(rates)}; ` +
    `predictions identical: ${a.every((v, i) => v === c[i])}`);
  fs.rmSync(dir, {recursive: true, force: true});
  if (!(loss[loss.length - 1] < loss[0]) || !a.every((v, i) => v === c[i])) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

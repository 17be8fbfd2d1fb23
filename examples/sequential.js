/**
 * Adding DropPath to your own tf.sequential model. In a plain stack there is
 * no shortcut to fall back on, so DropPath acts like a per-sample dropout of
 * the whole activation; its usual home is a residual branch (see
 * quickstart.js and resnet.js).
 *
 *   npm run build && node examples/sequential.js
 */
// Quiet libtensorflow's start-up lines (README: "What you see at start-up"); values you set are kept.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
require('tfjs-drop-path/node-compat');  // Node 22+: before tfjs-node (README: Node.js versions)
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');

const model = tf.sequential();
model.add(tf.layers.dense({units: 32, activation: 'relu', inputShape: [8]}));
model.add(dp.layers.dropPath({rate: 0.1, seed: 1}));
model.add(tf.layers.dense({units: 1}));
model.compile({optimizer: 'adam', loss: 'meanSquaredError'});
model.summary();

const xs = tf.randomNormal([256, 8], 0, 1, 'float32', 1);
const ys = tf.sum(xs, 1, true);
model.fit(xs, ys, {epochs: 5, batchSize: 32, verbose: 0}).then((h) => {
  const loss = h.history.loss;
  console.log(`loss ${loss[0].toFixed(3)} -> ${loss[loss.length - 1].toFixed(3)}`);
});

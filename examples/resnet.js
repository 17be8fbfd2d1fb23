/**
 * Building a bottleneck ResNet with stochastic depth from the builders, and
 * reading back the per-block drop rates the schedule gave it.
 *
 *   npm run build && node examples/resnet.js
 */
// Quiet libtensorflow's start-up lines (README: "What you see at start-up"); values you set are kept.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
require('tfjs-drop-path/node-compat');  // Node 22+: before tfjs-node (README: Node.js versions)
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');

// Huang et al.'s linear decay: block l of L drops with probability l/L * 0.5.
const model = dp.resnet({
  inputShape: [32, 32, 3],
  numClasses: 10,
  stages: [{filters: 32, blocks: 2}, {filters: 64, blocks: 2, strides: 2}],
  dropPathRate: 0.5,
  schedule: 'linear',
  seed: 42,
});
const rates = model.layers.filter((l) => l instanceof dp.DropPath).map((l) => `${l.name}=${l.rate}`);
console.log(`${model.name}: ${model.countParams()} parameters; ${rates.join(', ')}`);

// The blocks compose on the functional API too:
const input = tf.input({shape: [16, 16, 64]});
const x = dp.bottleneck(input, {filters: 64, dropPathRate: 0.1, name: 'block_a'});
const y = dp.bottleneck(x, {filters: 128, strides: 2, dropPathRate: 0.2, name: 'block_b'}); // projection shortcut
console.log(`two blocks: ${JSON.stringify(input.shape)} -> ${JSON.stringify(y.shape)}`);

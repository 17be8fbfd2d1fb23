/**
 * What the wasm backend (@tensorflow/tfjs-backend-wasm) can and cannot do with
 * the plugin, run in a child process on pure @tensorflow/tfjs + wasm: the op,
 * DropPath and StochasticResidual ('skip', dense branch) forward and training
 * work; training convolutions does not (wasm has no Conv2DBackpropFilter), and
 * the error says so instead of crashing.
 */
import {runNode} from '../utils/run_node';

test('wasm: drop path trains dense models; conv training fails with a clear error', () => {
  const script = `
    const tf = require('@tensorflow/tfjs');
    require('@tensorflow/tfjs-backend-wasm');
    const dp = require('tfjs-drop-path');
    (async () => {
      await tf.setBackend('wasm');
      const out = {backend: tf.getBackend()};
      out.op = [...new Set(dp.dropPath(tf.ones([64, 2]), 0.5, {seed: 1}).dataSync())].sort();
      const input = tf.input({shape: [4]});
      const branch = tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4]})]});
      let h = dp.layers.stochasticResidual({branch, rate: 0.5, seed: 1}).apply(input);
      h = dp.layers.dropPath({rate: 0.2, seed: 2}).apply(h);
      const dense = tf.model({inputs: input, outputs: h});
      dense.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
      const hist = await dense.fit(tf.ones([8, 4]), tf.zeros([8, 4]), {epochs: 2, verbose: 0});
      out.denseTrains = hist.history.loss.every(Number.isFinite);
      const conv = dp.resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 1}],
        blockType: 'stochasticResidual'});
      conv.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy'});
      out.convPredictShape = conv.predict(tf.ones([2, 8, 8, 1])).shape;
      try {
        await conv.fit(tf.ones([2, 8, 8, 1]), tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2), {epochs: 1, verbose: 0});
        out.convTrainError = null;
      } catch (e) {
        out.convTrainError = e.message;
      }
      console.log(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = runNode(['-e', script]);
  if (r.status !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  expect(out).toMatchObject({backend: 'wasm', op: [0, 2], denseTrains: true, convPredictShape: [2, 2]});
  expect(out.convTrainError).toMatch(/Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/);
});

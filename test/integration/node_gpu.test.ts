/**
 * @tensorflow/tfjs-node-gpu: installed through the same offline route (with
 * the CPU libtensorflow: this machine has no GPU and no CUDA build of
 * TensorFlow), loaded in a child process (one tfjs-node flavour per process),
 * and run against the plugin: layer semantics, StochasticResidual training
 * on the fused training path, and a file:// save/load round trip. GPU
 * execution itself is NOT tested here.
 */
import * as fs from 'fs';
import * as path from 'path';

import {ROOT, runNode} from '../utils/run_node';

const gpuPkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-node-gpu/package.json'), 'utf8'));
const cpuPkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-node/package.json'), 'utf8'));

test('tfjs-node-gpu and tfjs-node agree on version, tfjs dependency and binding layout', () => {
  expect(gpuPkg.version).toBe(cpuPkg.version);
  expect(gpuPkg.dependencies['@tensorflow/tfjs']).toBe(cpuPkg.dependencies['@tensorflow/tfjs']);
  expect(gpuPkg.binary.module_name).toBe(cpuPkg.binary.module_name);
  expect(fs.existsSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so.2.9.1'))).toBe(true);
});

test('staged by the offline route, the two packages share one copy of libtensorflow on disk (hard links)', () => {
  const lib = (p: string) => path.join(ROOT, 'node_modules', p, 'deps', 'lib', 'libtensorflow_cc.so.2');
  const cpu = lib('@tensorflow/tfjs-node');
  const gpu = lib('@tensorflow/tfjs-node-gpu');
  // Only the offline route stages this file; tfjs-node's own (CDN) route lays out other files.
  if (!fs.existsSync(cpu) || !fs.existsSync(gpu)) return;
  expect(fs.statSync(gpu).ino).toBe(fs.statSync(cpu).ino);
});

test('the plugin runs, trains and saves/loads on @tensorflow/tfjs-node-gpu (CPU fallback here)', () => {
  const script = `
    const fs = require('fs'); const os = require('os'); const path = require('path');
    require('tfjs-drop-path/node-compat');
    const tf = require('@tensorflow/tfjs-node-gpu');
    const dp = require('tfjs-drop-path');
    (async () => {
      const out = {backend: tf.getBackend()};
      const layer = dp.layers.dropPath({rate: 0.5, seed: 1});
      const x = tf.ones([64, 3]);
      out.trainValues = [...new Set(layer.apply(x, {training: true}).dataSync())].sort();
      out.inferenceIdentity = layer.apply(x).dataSync().every((v) => v === 1);
      out.rateOneZeros = dp.dropPath(x, 1).dataSync().every((v) => v === 0);
      const model = dp.resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 2}],
        dropPathRate: 0.3, blockType: 'stochasticResidual', seed: 1});
      model.compile({optimizer: 'adam', loss: 'categoricalCrossentropy'});
      const xs = tf.randomUniform([16, 8, 8, 1], 0, 1, 'float32', 2);
      const ys = tf.oneHot(tf.tensor1d(Array.from({length: 16}, (_, i) => i % 2), 'int32'), 2);
      const h = await model.fit(xs, ys, {epochs: 2, verbose: 0});
      // The fast path takes its kernels from the loaded backend: no @tensorflow/tfjs-node import needed.
      out.trainingPaths = dp.trainingPaths(model).counts;
      out.lossFinite = h.history.loss.every(Number.isFinite);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-gpu-'));
      await model.save('file://' + dir);
      const loaded = await tf.loadLayersModel('file://' + dir + '/model.json');
      const a = model.predict(xs).dataSync(); const b = loaded.predict(xs).dataSync();
      out.reloadIdentical = a.every((v, i) => v === b[i]);
      fs.rmSync(dir, {recursive: true, force: true});
      console.log(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = runNode(['-e', script]);
  if (r.status !== 0) throw new Error(r.stderr);
  expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toEqual({
    backend: 'tensorflow', trainValues: [0, 2], inferenceIdentity: true, rateOneZeros: true,
    trainingPaths: {fused: 14, portable: 0, stock: 0}, lossFinite: true, reloadIdentical: true,
  });
});

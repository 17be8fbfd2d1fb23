/**
 * optimizers.adamw against torch.optim.AdamW: the same problem from the same
 * start (test/fixtures/adamw/make_adamw.py), 100 steps, every parameter within
 * 1e-5 of torch's — with every variable decayed, with timm's exclusion, and
 * with other betas / epsilon. Then: usable in fit, serializable with its
 * state, refusing bad arguments.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as dp from '../../index';
import {saveToMemory} from '../utils/io';
import {onBackend, tf} from '../utils/tf';

interface Case {
  args: {lr: number; weight_decay: number; betas: [number, number]; eps: number};
  losses: number[];
  end: Record<string, number[]>;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'adamw', 'adamw.json'), 'utf8')) as
  {start: Record<string, number[]>; shapes: Record<string, number[]>; x: number[]; y: number[]; cases: Record<string, Case>};

let run = 0;
test.each(Object.keys(fixture.cases))("case '%s': 100 steps, every parameter within 1e-5 of torch's", (name) => {
  const c = fixture.cases[name] as Case;
  const prefix = `adamw_case_${run++}`;
  const v = Object.fromEntries(Object.entries(fixture.start).map(([k, values]) =>
    [k, tf.variable(tf.tensor(values, fixture.shapes[k]), true, `${prefix}/${k}`)])) as Record<string, tf.Variable>;
  const x = tf.tensor2d(fixture.x, [32, 6]);
  const y = tf.tensor2d(fixture.y, [32, 4]);
  const opt = dp.optimizers.adamw({learningRate: c.args.lr, weightDecay: c.args.weight_decay, beta1: c.args.betas[0], beta2: c.args.betas[1],
    epsilon: c.args.eps, exclude: name === 'timm' ? 'timm' : 'none'});
  expect(['W', 'b', 'pos_embed'].map((k) => opt.decays(v[k] as tf.Variable))).toEqual(name === 'timm' ? [true, false, false] : [true, true, true]);
  const losses: number[] = [];
  for (let step = 0; step < 100; step++) {
    const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.add(tf.matMul(x, v.W as tf.Variable), v.b as tf.Variable),
      tf.reshape(v.pos_embed as tf.Variable, [4])), y))) as tf.Scalar, true) as tf.Scalar;
    losses.push(loss.dataSync()[0] as number);
    loss.dispose();
  }
  for (const k of Object.keys(fixture.start)) {
    const got = Array.from((v[k] as tf.Variable).dataSync());
    const want = c.end[k] as number[];
    const diff = Math.max(...got.map((g, i) => Math.abs(g - (want[i] as number))));
    expect(diff).toBeLessThan(1e-5);
    console.log(`${name} ${k}: max |tfjs − torch| after 100 steps ${diff.toExponential(2)}`);
  }
  expect(Math.abs((losses[99] as number) - (c.losses[99] as number))).toBeLessThan(1e-5);
  // The decay did something: without it the end differs from torch's by far more than the tolerance.
  expect(Math.abs(losses[99]! - losses[0]!)).toBeGreaterThan(0.1);
  opt.dispose();
  Object.values(v).forEach((t) => t.dispose());
});

test('without the decoupled decay the trajectory leaves torch\'s: the equality test can fail', () => {
  const c = fixture.cases.none as Case;
  const W = tf.variable(tf.tensor(fixture.start.W as number[], [6, 4]), true, 'adamw_nodecay/W');
  const x = tf.tensor2d(fixture.x, [32, 6]);
  const y = tf.tensor2d(fixture.y, [32, 4]);
  const b = tf.tensor(fixture.start.b as number[]);
  const p = tf.tensor(fixture.start.pos_embed as number[]);
  const opt = dp.optimizers.adamw({learningRate: c.args.lr, weightDecay: 0});
  for (let i = 0; i < 100; i++) opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.add(tf.matMul(x, W), b), p), y))) as tf.Scalar);
  const got = Array.from(W.dataSync());
  expect(Math.max(...got.map((g, i) => Math.abs(g - (c.end.W as number[])[i]!)))).toBeGreaterThan(1e-3);
  opt.dispose();
  W.dispose();
});

test('in compile and fit; state saved with the model and restored; no tensors held across steps', async () => {
  const m = tf.sequential({layers: [tf.layers.dense({units: 3, inputShape: [4], activation: 'softmax'})]});
  const opt = dp.optimizers.adamw({learningRate: 1e-2, weightDecay: 0.05, exclude: 'timm'});
  m.compile({optimizer: opt, loss: 'categoricalCrossentropy'});
  const xs = tf.randomNormal([16, 4], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.tensor1d(Array.from({length: 16}, (_, i) => i % 3), 'int32'), 3);
  const h = await m.fit(xs, ys, {epochs: 3, verbose: 0});
  expect((h.history.loss as number[])[2]).toBeLessThan((h.history.loss as number[])[0] as number);
  const before = tf.memory().numTensors;
  await m.trainOnBatch(xs, ys);
  expect(tf.memory().numTensors).toBe(before);
  const weights = await opt.getWeights();
  expect(weights.map((w) => w.name.replace(/^dense\w*\//, 'dense/'))).toEqual(['iter', 'dense/kernel/m', 'dense/bias/m', 'dense/kernel/v',
    'dense/bias/v']);
  const config = opt.getConfig();
  expect(config).toEqual({learningRate: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05, exclude: 'timm', excludeNames: []});
  const again = tf.serialization.SerializationMap.getMap().classNameMap.AdamW;
  expect(again).toBeDefined();
  const copy = dp.AdamW.fromConfig(dp.AdamW as never, config) as unknown as dp.AdamW;
  await copy.setWeights(weights);
  expect(copy.iterations).toBe(opt.iterations);
  expect((await copy.getWeights()).map((w) => w.name)).toEqual(weights.map((w) => w.name));
});

test.each([
  [{learningRate: -1}, /adamw: learningRate must be a number in \[0, Infinity\), but received -1/],
  [{beta1: 1}, /beta1 must be a number in \[0, 1\), but received 1/],
  [{exclude: 'bias'}, /exclude must be one of 'none', 'timm'/],
  [{weightdecay: 0.1}, /unknown key 'weightdecay'.*did you mean 'weightDecay'/],
  [{excludeNames: 'bias'}, /excludeNames must be an array of non-empty strings/],
] as const)('bad arguments %#', (args, message) => {
  expect(() => dp.optimizers.adamw(args as never)).toThrow(message);
});

test('model.save with includeOptimizer keeps AdamW and its moments; loadLayersModel brings them back', () => onBackend('cpu', async () => {
  const m = tf.sequential({layers: [tf.layers.dense({units: 2, inputShape: [3]})]});
  m.compile({optimizer: dp.optimizers.adamw({learningRate: 0.01, weightDecay: 0.1}), loss: 'meanSquaredError'});
  await m.fit(tf.ones([4, 3]), tf.zeros([4, 2]), {epochs: 2, verbose: 0});
  const artifacts = await saveToMemory(m, {includeOptimizer: true});
  const back = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  expect(back.optimizer).toBeInstanceOf(dp.AdamW);
  expect((back.optimizer as dp.AdamW).weightDecay).toBe(0.1);
  expect(back.optimizer.iterations).toBe(2);
  const [want, got] = [await m.optimizer.getWeights(), await back.optimizer.getWeights()];
  expect(got.map((w) => Array.from(w.tensor.dataSync()))).toEqual(want.map((w) => Array.from(w.tensor.dataSync())));
  // The next step of the loaded model continues from the moments: the same weights as the original's next step.
  for (const model of [m, back]) await model.trainOnBatch(tf.ones([4, 3]), tf.zeros([4, 2]));
  expect(back.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(m.getWeights().map((w) => Array.from(w.dataSync())));
}));

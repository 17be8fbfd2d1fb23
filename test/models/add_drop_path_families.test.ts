/**
 * addDropPath on keras.applications' residual families as their public
 * constructors build them (test/fixtures/keras/residual/, made with Keras'
 * own application code, reduced in width, every block kept), read with
 * loadKerasModel: the blocks each architecture has are found, predictions
 * are unchanged, and 'auto' skips every block whose branch can be cut out.
 */
import * as fs from 'fs';
import * as path from 'path';

import seedrandom from 'seedrandom';

import * as dp from '../../index';
import {loadKerasModel} from '../../keras';
import {binomialTwoSided} from '../utils/stats';
import {tf} from '../utils/tf';

const DIR = path.join(__dirname, '..', 'fixtures', 'keras', 'residual');
const families = JSON.parse(fs.readFileSync(path.join(DIR, 'families.json'), 'utf8')) as Record<string, {residual_blocks: number}>;

test.each(Object.entries(families))('%s: its residual blocks found, predictions unchanged in mask and auto form', async (name, info) => {
  const keras = await loadKerasModel(path.join(DIR, `${name}_reduced.keras`));
  const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 11);
  const want = keras.predict(x) as tf.Tensor;
  const mask = dp.addDropPath(keras, {rate: 0.1});
  expect(mask.blocks).toHaveLength(info.residual_blocks);
  expect(tf.max(tf.abs(tf.sub(mask.model.predict(x) as tf.Tensor, want))).dataSync()[0]).toBe(0);
  const auto = dp.addDropPath(keras, {rate: 0.1, strategy: 'auto'});
  expect(auto.blocks.filter((b) => b.action === 'skip').length).toBe(info.residual_blocks);
  expect(tf.max(tf.abs(tf.sub(auto.model.predict(x) as tf.Tensor, want))).dataSync()[0]).toBe(0);
  console.log(`${name}: ${mask.blocks.length} blocks (${[...new Set(mask.blocks.map((b) => `${b.shortcut}`))].join(', ')}; ` +
    `${mask.blocks.filter((b) => b.action !== 'inserted').length} with a drop or placeholder already)`);
});

test.each(Object.keys(families))('%s: a training call drops each block at its rate (binomial bound, fixed seeds)', async (name) => {
  const keras = await loadKerasModel(path.join(DIR, `${name}_reduced.keras`));
  // tfjs' unseeded Dropout (EfficientNet's drops, whose rates addDropPath sets) draws from Math.random: seeded here.
  const random = seedrandom.alea(`families-${name}`);
  const spy = jest.spyOn(Math, 'random').mockImplementation(() => random());
  try {
    const {model, blocks} = dp.addDropPath(keras, {rate: 0.5, seed: 5});
    const drops = dp.dropPathSummary(model).rows.map((r) => model.getLayer(r.name));
    expect(drops).toHaveLength(blocks.length);
    // A probe that returns every drop's output: a dropped sample's branch output is all zero.
    const probe = tf.model({inputs: model.inputs, outputs: drops.map((l) => l.output as tf.SymbolicTensor)});
    const batch = 32;
    const calls = 6;
    const counts = drops.map(() => 0);
    for (let c = 0; c < calls; c++) {
      tf.tidy(() => {
        const x = tf.randomUniform([batch, 32, 32, 3], 0, 255, 'float32', 100 + c);
        const outs = probe.apply(x, {training: true}) as tf.Tensor[];
        outs.forEach((o, i) => {
          const rows = o.reshape([batch, -1]);
          const zero = tf.all(tf.equal(rows, 0), 1).cast('int32').sum().dataSync()[0] as number;
          counts[i] = (counts[i] as number) + zero;
        });
      });
    }
    const n = batch * calls;
    const ps = blocks.map((b, i) => binomialTwoSided(counts[i] as number, n, b.rate));
    expect(counts[0]).toBe(0); // linspace starts at 0
    for (const p of ps) expect(p).toBeGreaterThan(1e-4);
    const expected = blocks.reduce((s, b) => s + b.rate * n, 0);
    const total = counts.reduce((s, c) => s + c, 0);
    console.log(`${name}: ${total} of ${n * blocks.length} block-samples dropped (expected ${expected.toFixed(0)}); ` +
      `smallest per-block two-sided binomial p = ${Math.min(...ps.slice(1)).toFixed(3)}`);
  } finally {
    spy.mockRestore();
  }
});

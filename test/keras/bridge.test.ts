/**
 * Reading Keras 3 `.keras` files (issue 12): fixtures made by
 * scripts/keras_fixtures.py with keras 3.15.1 + tensorflow-cpu 2.21 (fixed
 * seeds, every weight perturbed), compared with Keras' own predictions.
 */
import * as fs from 'fs';
import * as path from 'path';

import {DropPath, StochasticDepth} from '../../index';
import {loadKerasModel} from '../../keras';
import {tf} from '../utils/tf';
import {runNode} from '../utils/run_node';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'keras');
const expected = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as
  {input_shape: number[]; x: number[]; y_shape: number[]; y: number[]};

test.each([
  // [fixture, DropPath layers (ConvNeXt's StochasticDepth), a note the translation must give]
  ['convnext_reduced', 4, /read as DepthwiseConv2D/],
  ['efficientnet_reduced', 0, null],
  ['efficientnetv2_reduced', 0, null],
] as const)('%s (keras.applications, perturbed weights): predictions equal Keras\' (logits, within 1e-4 of their scale)',
  async (name, dropPaths, note) => {
    const notes: string[] = [];
    const model = await loadKerasModel(path.join(FIXTURES, `${name}.keras`), {onNote: (n) => notes.push(n)});
    const e = expected(name);
    const y = model.predict(tf.tensor(e.x, e.input_shape)) as tf.Tensor;
    expect(y.shape).toEqual(e.y_shape);
    const want = tf.tensor(e.y, e.y_shape);
    const scale = tf.max(tf.abs(want)).dataSync()[0] as number;
    expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThanOrEqual(1e-4 * scale);
    expect(model.layers.filter((l) => l instanceof DropPath).length).toBe(dropPaths);
    if (note) expect(notes.some((n) => note.test(n))).toBe(true);
  });

test('a model with the Python twin\'s DropPath (trained in Keras, a scheduled rate left in its variable) reads back exactly', async () => {
  const notes: string[] = [];
  const model = await loadKerasModel(path.join(FIXTURES, 'twin_drop_path.keras'), {onNote: (n) => notes.push(n)});
  const drops = model.layers.filter((l): l is DropPath => l instanceof DropPath);
  expect(drops.map((d) => [d.name, d.rate, d.mode, d.scaleByKeep, d.seed])).toEqual([
    ['b0_drop_path', 0.1, 'row', true, 11], ['b1_drop_path', 0.25, 'batch', true, 12]]);
  const e = expected('twin_drop_path');
  const y = model.predict(tf.tensor(e.x, e.input_shape)) as tf.Tensor;
  const want = tf.tensor(e.y, e.y_shape);
  expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThanOrEqual(1e-5 * (tf.max(tf.abs(want)).dataSync()[0] as number));
  expect(notes).toContain("the file's optimizer state (26 variables) is not loaded: compile the model in TF.js");
});

test('Model Garden\'s Vision>StochasticDepth and keras-cv\'s two-input StochasticDepth: Keras\' predictions, and their training semantics', async () => {
  const notes: string[] = [];
  const model = await loadKerasModel(path.join(FIXTURES, 'stochastic_depth_family.keras'), {onNote: (n) => notes.push(n)});
  const e = expected('stochastic_depth_family');
  const want = tf.tensor(e.y, e.y_shape);
  const y = model.predict(tf.tensor(e.x, e.input_shape)) as tf.Tensor;
  expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThanOrEqual(1e-5 * (tf.max(tf.abs(want)).dataSync()[0] as number));
  // Model Garden's: per sample, scaled (a DropPath); a rate of None is the identity (rate 0).
  const garden = model.layers.filter((l): l is DropPath => l instanceof DropPath);
  expect(garden.map((d) => [d.name, d.rate, d.mode, d.scaleByKeep])).toEqual([['garden0_sd', 0.2, 'row', true], ['garden1_sd', 0, 'row', true]]);
  expect(notes).toContain("'garden0_sd': Model Garden StochasticDepth read as DropPath (rate 0.2); at rate 1 it gives exact zeros " +
    "where Model Garden's gives NaN (x / 0 · 0)");
  // keras-cv's: two inputs, one draw per batch, no rescaling in training; shortcut + keep · residual at inference.
  const cv = model.getLayer('cv_sd') as StochasticDepth;
  expect(cv).toBeInstanceOf(StochasticDepth);
  const shortcut = tf.ones([400, 2]);
  const residual = tf.fill([400, 2], 2);
  (cv.apply([shortcut, residual], {training: false}) as tf.Tensor).dataSync().forEach((v) => expect(v).toBeCloseTo(2.4, 6));
  let kept = 0;
  for (let i = 0; i < 400; i++) {
    const out = (cv.apply([shortcut.slice(0, 4), residual.slice(0, 4)], {training: true}) as tf.Tensor).dataSync();
    expect(new Set(out).size).toBe(1); // one draw for the batch
    if (out[0] === 3) kept++;
    else expect(out[0]).toBe(1);
  }
  expect(Math.abs(kept - 280)).toBeLessThan(4.5 * Math.sqrt(400 * 0.7 * 0.3));
});

test('the loaded ConvNeXt trains: one fit step on tfjs-node, finite loss, weights move, no leak', async () => {
  const model = await loadKerasModel(path.join(FIXTURES, 'convnext_reduced.keras'));
  model.compile({optimizer: tf.train.adam(1e-3), loss: tf.losses.softmaxCrossEntropy as never});
  const x = tf.randomUniform([4, 32, 32, 3], 0, 255, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
  const before = model.getWeights().map((w) => w.dataSync().slice());
  const h = await model.fit(x, y, {epochs: 1, batchSize: 4, verbose: 0});
  expect(Number.isFinite(h.history.loss?.[0] as number)).toBe(true);
  const after = model.getWeights();
  expect(after.some((w, i) => w.dataSync().some((v, j) => v !== (before[i] as Float32Array)[j]))).toBe(true);
  const n = tf.memory().numTensors;
  await model.fit(x, y, {epochs: 1, batchSize: 4, verbose: 0});
  expect(tf.memory().numTensors).toBe(n);
});

describe('a .keras file is untrusted input: each broken file gives its own clear error', () => {
  const broken = (name: string) => path.join(FIXTURES, 'broken', name);
  test.each([
    ['empty.keras', /not a \.keras file: a \.keras file is a zip archive \(it starts with the bytes 50 4b\), but this one is empty/],
    ['not_a_zip.keras', /not a \.keras file: .* but this one starts with 89 48 44 46/],
    ['truncated.keras', /the zip archive is damaged or truncated/],
    ['no_weights.keras', /holds config\.json and model\.weights\.h5, but model\.weights\.h5 is missing/],
    ['bad_json.keras', /config\.json is not valid JSON/],
    ['not_h5.keras', /model\.weights\.h5 is not an HDF5 file/],
    ['bad_h5.keras', /model\.weights\.h5 could not be read as HDF5/],
    ['truncated_h5.keras', /model\.weights\.h5 could not be read as HDF5|the HDF5 reader/],
    ['mixed_precision.keras', /'half' \(Dense\): dtype policy "mixed_float16": only float32 models are read/],
  ])('%s', async (name, message) => {
    await expect(loadKerasModel(broken(name))).rejects.toThrow(message);
  });

  test('a damaged HDF5 file costs one clear error and nothing on stderr (the HDF5 library\'s own error stack is kept off it)', () => {
    const r = runNode(['-e', `require('./dist/keras/index.js').loadKerasModel(${JSON.stringify(broken('bad_h5.keras'))})` +
      '.then(() => process.exit(3), (e) => { console.log(e.message); })']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/model\.weights\.h5 could not be read as HDF5/);
    expect(r.stderr).toBe('');
  });

  test('every layer TF.js cannot hold is named, with its class, in one error', async () => {
    const err = await loadKerasModel(broken('unsupported_layers.keras')).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/2 layers cannot:/);
    expect(err?.message).toContain("'double' (Lambda): a Lambda layer holds Python code, which is never run");
    expect(err?.message).toContain("'lstm_never' (LSTM): no tfjs layer of this class");
  });

  test('a missing file, and a source of the wrong kind', async () => {
    await expect(loadKerasModel(broken('nope.keras'))).rejects.toThrow(/cannot read '.*nope\.keras' \(ENOENT\)/);
    await expect(loadKerasModel(42 as never)).rejects.toThrow(/source must be a path, a file:\/\/ or http\(s\):\/\/ URL, an ArrayBuffer, a Uint8Array or a File, but received 42/);
  });

  /** Runs `fn`; no temporary folder of this process's HDF5 worker may be left after (other test files run at the same time). */
  async function leavesNothing(fn: () => Promise<void>): Promise<void> {
    const os = await import('os');
    const mine = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`tfjs-drop-path-h5-${process.pid}-`));
    expect(mine()).toEqual([]);
    await fn();
    expect(mine()).toEqual([]);
  }

  test('reading leaves nothing behind: no file at the filesystem root, no temporary folder', () => leavesNothing(async () => {
    const model = await loadKerasModel(path.join(FIXTURES, 'convnext_reduced.keras'));
    model.dispose();
    await expect(loadKerasModel(broken('bad_h5.keras'))).rejects.toThrow(/could not be read as HDF5/);
    expect(fs.existsSync('/model.weights.h5')).toBe(false);
  }));

  test('an HDF5 read past its time limit is stopped with a clear error, and its worker and files are gone', () => leavesNothing(async () => {
    await expect(loadKerasModel(path.join(FIXTURES, 'convnext_reduced.keras'), {h5TimeoutMs: 1}))
      .rejects.toThrow(/reading model\.weights\.h5 took longer than 1 ms and was stopped/);
  }));

  test('the same bytes load from a Uint8Array, an ArrayBuffer and a File-like object', async () => {
    const bytes = fs.readFileSync(path.join(FIXTURES, 'convnext_reduced.keras'));
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    for (const source of [new Uint8Array(bytes), ab, {name: 'x.keras', arrayBuffer: async () => ab}]) {
      const model = await loadKerasModel(source as never);
      expect(model.outputs[0]?.shape).toEqual([null, 5]);
      model.dispose();
    }
  });
});

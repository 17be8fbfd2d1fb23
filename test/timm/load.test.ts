/**
 * loadTimmModel against timm itself: checkpoints made by timm's create_model
 * (test/fixtures/timm/make_timm.py; reduced sizes, every weight perturbed),
 * read from their hub folders; TF.js' predictions on the fixed input equal
 * timm's forward within 1e-4 relative — for every family, in every blockType,
 * from float32, float16 and bfloat16 files.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as dp from '../../index';
import {loadTimmModel} from '../../timm';
import {tf} from '../utils/tf';

const DIR = path.join(__dirname, '..', 'fixtures', 'timm');
const io = (name: string) => JSON.parse(fs.readFileSync(path.join(DIR, name, 'io.json'), 'utf8')) as
  {architecture: string; x: number[]; xShape: number[]; y: number[]; yShape: number[]};

/** max |a − b| / max(1, max |b|). */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => (tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number) / Math.max(1, tf.max(tf.abs(b)).dataSync()[0] as number));
}

const NAMES = ['vit_tiny', 'vit_avg_nocls', 'deit_tiny', 'deit3_small', 'convnext_atto', 'convnext_tiny', 'vit_tiny_f16', 'vit_tiny_bf16'];

test.each(NAMES)('%s: predictions equal timm\'s forward within 1e-4 relative', async (name) => {
  const f = io(name);
  const model = await loadTimmModel(path.join(DIR, name));
  const x = tf.tensor(f.x, f.xShape);
  const want = tf.tensor(f.y, f.yShape);
  const diff = relDiff(model.predict(x) as tf.Tensor, want);
  expect(diff).toBeLessThan(1e-4);
  console.log(`${name} (${f.architecture}): max relative diff ${diff.toExponential(2)}, ${model.countParams()} parameters`);
});

test.each(['stochasticResidual', 'plain'] as const)('blockType %s reads the same weights: the same predictions', async (blockType) => {
  for (const name of ['deit3_small', 'convnext_tiny']) {
    const f = io(name);
    const model = await loadTimmModel(path.join(DIR, name), {blockType, dropPathRate: 0.1});
    expect(relDiff(model.predict(tf.tensor(f.x, f.xShape)) as tf.Tensor, tf.tensor(f.y, f.yShape))).toBeLessThan(1e-4);
  }
});

test('fine-tuning: drop path at the rate asked, a new head, and the model trains', async () => {
  const notes: string[] = [];
  const model = await loadTimmModel(path.join(DIR, 'deit_tiny'), {dropPathRate: 0.1, numClasses: 3, classifierActivation: 'softmax',
    onNote: (n) => notes.push(n)});
  expect(notes).toEqual(["the file's head (5 classes) is left out; the new head of 3 classes starts from its initializer"]);
  const rows = dp.dropPathSummary(model).rows;
  expect(rows).toHaveLength(6);
  expect(rows.map((r) => r.rate)).toEqual([0, 0, 0.05, 0.05, 0.1, 0.1]);
  model.compile({optimizer: tf.train.adam(1e-4), loss: 'categoricalCrossentropy'});
  const xs = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 1);
  const h = await model.fit(xs, tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3), {epochs: 1, verbose: 0});
  expect(Number.isFinite((h.history.loss as number[])[0])).toBe(true);
});

test('the two files as bytes, and the config as an object, read the same', async () => {
  const folder = path.join(DIR, 'convnext_atto');
  const f = io('convnext_atto');
  const model = await loadTimmModel({config: JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')),
    weights: new Uint8Array(fs.readFileSync(path.join(folder, 'model.safetensors')))});
  expect(relDiff(model.predict(tf.tensor(f.x, f.xShape)) as tf.Tensor, tf.tensor(f.y, f.yShape))).toBeLessThan(1e-4);
});

/**
 * Models saved by version 0.1.0 (test/fixtures/v0.1.0, written by that
 * version's code after three training steps) still load and predict the same.
 */
import * as fs from 'fs';
import * as path from 'path';

import '../../index';
import {tf} from '../utils/tf';

const dir = path.resolve(__dirname, '..', 'fixtures', 'v0.1.0');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as
  {version: string; input: {shape: number[]; values: number[]}; predictions: Record<string, number[]>};

test.each(Object.keys(expected.predictions))('%s (saved by 0.1.0) loads and predicts the same', async (name) => {
  expect(expected.version).toBe('0.1.0');
  const model = await tf.loadLayersModel(`file://${path.join(dir, name, 'model.json')}`);
  const x = tf.tensor(expected.input.values, expected.input.shape);
  const got = Array.from((model.predict(x) as tf.Tensor).dataSync());
  const want = expected.predictions[name] as number[];
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - (want[i] as number))).toBeLessThan(1e-6));
});

/**
 * addDropPath on keras.applications' residual families as their public
 * constructors build them (test/fixtures/keras/residual/, made with Keras'
 * own application code, reduced in width, every block kept), read with
 * loadKerasModel: the blocks each architecture has are found, predictions
 * are unchanged, and 'auto' skips every block whose branch can be cut out.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as dp from '../../index';
import {loadKerasModel} from '../../keras';
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

/**
 * `npx tfjs-drop-path keras-to-tfjs`: a Keras 3 file becomes model.json +
 * shards that plain `tf.loadLayersModel` reads (with the plugin imported) and
 * that predict as Keras does; bad input exits non-zero with the reason.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import '../../index';
import {tf} from '../utils/tf';
import {ROOT, runNode} from '../utils/run_node';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'keras');

test('keras-to-tfjs writes a model that tf.loadLayersModel reads and that predicts as Keras', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-k2t-'));
  try {
    const r = runNode(['bin/tfjs-drop-path.js', 'keras-to-tfjs', path.join(FIXTURES, 'convnext_reduced.keras'), out]);
    if (r.status !== 0) throw new Error(r.stderr);
    expect(r.stdout).toMatch(/^wrote .*model\.json and its weights in [\d.]+ s/);
    expect(r.stderr).toMatch(/reading .*convnext_reduced\.keras \(0\.3 MB\)/);
    expect(r.stderr).toMatch(/49 layers, 31925 parameters/);
    const model = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
    const e = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'convnext_reduced.expected.json'), 'utf8'));
    const y = model.predict(tf.tensor(e.x, e.input_shape)) as tf.Tensor;
    const want = tf.tensor(e.y, e.y_shape);
    expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThanOrEqual(1e-4 * (tf.max(tf.abs(want)).dataSync()[0] as number));
  } finally {
    fs.rmSync(out, {recursive: true, force: true});
  }
});

test('keras-to-tfjs: a model it cannot read, a missing file, wrong arguments', () => {
  const bad = runNode(['bin/tfjs-drop-path.js', 'keras-to-tfjs', path.join(FIXTURES, 'broken', 'unsupported_layers.keras'), os.tmpdir()]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("'double' (Lambda): a Lambda layer holds Python code, which is never run");
  const missing = runNode(['bin/tfjs-drop-path.js', 'keras-to-tfjs', 'nope.keras', os.tmpdir()]);
  expect([missing.status, missing.stderr.trim()]).toEqual([2, "keras-to-tfjs: 'nope.keras' does not exist."]);
  const args = runNode(['bin/tfjs-drop-path.js', 'keras-to-tfjs', 'only-one']);
  expect(args.status).toBe(2);
  expect(args.stderr).toContain('expected a .keras file and an output folder, but received 1 argument(s)');
});

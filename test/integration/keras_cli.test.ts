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

test('tfjs-to-keras writes the .keras of a saved TF.js model; keras-to-tfjs reads it back to the same predictions', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-t2k-'));
  try {
    const k2t = runNode(['bin/tfjs-drop-path.js', 'keras-to-tfjs', path.join(FIXTURES, 'twin_drop_path.keras'), path.join(dir, 'a')]);
    if (k2t.status !== 0) throw new Error(k2t.stderr);
    const t2k = runNode(['bin/tfjs-drop-path.js', 'tfjs-to-keras', path.join(dir, 'a', 'model.json'), path.join(dir, 'b.keras')]);
    if (t2k.status !== 0) throw new Error(t2k.stderr);
    expect(t2k.stderr).toMatch(/reading .*model\.json…\n {2}\d+ layers, \d+ parameters \([\d.]+ s\); writing .*b\.keras…/);
    expect(t2k.stdout).toMatch(/^wrote .*b\.keras \([\d.]+ MB\) in [\d.]+ s/);
    const back = runNode(['bin/tfjs-drop-path.js', 'keras-to-tfjs', path.join(dir, 'b.keras'), path.join(dir, 'c')]);
    if (back.status !== 0) throw new Error(back.stderr);
    const e = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'twin_drop_path.expected.json'), 'utf8'));
    const [a, c] = await Promise.all(['a', 'c'].map((f) => tf.loadLayersModel(`file://${path.join(dir, f, 'model.json')}`)));
    const x = tf.tensor(e.x, e.input_shape);
    expect(tf.max(tf.abs(tf.sub(a!.predict(x) as tf.Tensor, c!.predict(x) as tf.Tensor))).dataSync()[0]).toBe(0);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('tfjs-to-keras: a missing model, an output that is not .keras, wrong arguments', () => {
  const missing = runNode(['bin/tfjs-drop-path.js', 'tfjs-to-keras', 'nope.json', 'out.keras']);
  expect([missing.status, missing.stderr.trim()]).toEqual([2, "tfjs-to-keras: 'nope.json' does not exist."]);
  const notKeras = runNode(['bin/tfjs-drop-path.js', 'tfjs-to-keras', 'package.json', 'out.h5']);
  expect([notKeras.status, notKeras.stderr.trim()]).toEqual([2, "tfjs-to-keras: the output must be a .keras file, but received 'out.h5'."]);
  const args = runNode(['bin/tfjs-drop-path.js', 'tfjs-to-keras']);
  expect(args.status).toBe(2);
  expect(args.stderr).toContain('expected a model.json and an output .keras file, but received 0 argument(s)');
});

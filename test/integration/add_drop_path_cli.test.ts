/** `npx tfjs-drop-path add-drop-path`: a .keras or a model.json in, stochastic depth added, the table printed. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as dp from '../../index';
import {loadKerasModel} from '../../keras';
import {tf} from '../utils/tf';
import {ROOT, runNode} from '../utils/run_node';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-adp-cli-'));
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

test('a keras.applications ResNet50 (.keras) gets a skipping drop path on its 16 blocks, written as a .keras', async () => {
  const out = path.join(dir, 'r50.keras');
  const r = runNode(['bin/tfjs-drop-path.js', 'add-drop-path', path.join(ROOT, 'test/fixtures/keras/residual/resnet50_reduced.keras'), out,
    '--rate', '0.1', '--strategy', 'auto']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/16 residual blocks\nwrote .*r50\.keras in/);
  expect(r.stdout).toMatch(/conv5_block3_add +conv5_block3_3_bn +identity +skip +0\.1000/);
  const model = await loadKerasModel(out);
  expect(dp.dropPathSummary(model).rows).toHaveLength(16);
});

test('a model.json in, a model folder out, with the linear schedule', async () => {
  const model = dp.resnet({inputShape: [8, 8, 1], numClasses: 2, blockType: 'plain', stages: [{filters: 8, blocks: 2}]});
  await model.save(`file://${path.join(dir, 'in')}`);
  const r = runNode(['bin/tfjs-drop-path.js', 'add-drop-path', path.join(dir, 'in', 'model.json'), path.join(dir, 'out'), '--rate', '0.2',
    '--schedule', 'linear']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/inserted +0\.1000[\s\S]*inserted +0\.2000\n2 residual blocks/);
  const back = await tf.loadLayersModel(`file://${path.join(dir, 'out', 'model.json')}`);
  expect(dp.dropPathSummary(back).rows.map((row) => row.rate)).toEqual([0.1, 0.2]);
});

test.each([
  [['a.keras'], /expected IN and OUT, but received 1 argument/],
  [['a.keras', 'b.keras'], /--rate is needed/],
  [['a.keras', 'b.keras', '--rate', 'x'], /--rate must be a number, but received 'x'/],
  [['a.keras', 'b.keras', '--rate', '0.1', '--rat', '2'], /unknown option '--rat'/],
])('bad arguments %p: a usage error (exit 2)', (args, message) => {
  const r = runNode(['bin/tfjs-drop-path.js', 'add-drop-path', ...args]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
});

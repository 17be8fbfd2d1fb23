/** Every script in examples/ runs and does what its comment says. */
import {runNode} from '../utils/run_node';
import {unexpectedStderr} from '../utils/stderr';

test.each([
  ['examples/quickstart.js', [/backend tensorflow/, /predict twice, same outputs: true/, /predictions identical: true/]],
  ['examples/sequential.js', [/drop_path/i, /loss [\d.]+ -> [\d.]+/]],
  ['examples/resnet.js', [/stage2_block2_drop_path=0\.5/, /stage1_block1_drop_path=0\.125/, /\[null,16,16,64\] -> \[null,8,8,128\]/]],
  ['examples/save-load.js', [/file:\/\/: model\.json, weights\.bin; identical: true/, /memory: identical: true; rates/]],
])('%s', (script, patterns) => {
  const r = runNode([script]);
  expect(unexpectedStderr(r.stderr)).toEqual([]);
  expect(r.status).toBe(0);
  for (const p of patterns) expect(r.stdout).toMatch(p);
});

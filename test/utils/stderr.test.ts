/** The stderr filter drops libtensorflow's start-up information and nothing else. */
import {unexpectedStderr} from './stderr';

const startup = [
  'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
  'I0000 00:00:1795948540.322498    3088 port.cc:153] oneDNN custom operations are on. You may see slightly different ' +
    'numerical results due to floating-point round-off errors from different computation orders. To turn them off, set ' +
    'the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.',
  'I1129 10:33:26.123456   12 cpu_feature_guard.cc:210] This TensorFlow binary is optimized to use available CPU ' +
    'instructions in performance-critical operations.',
  'To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX_VNNI FMA, in other operations, ' +
    'rebuild TensorFlow with the appropriate compiler flags.',
  '',
].join('\n');

test('libtensorflow start-up lines are dropped', () => {
  expect(unexpectedStderr(startup)).toEqual([]);
  expect(unexpectedStderr('')).toEqual([]);
});

test.each([
  ['a warning of ours', 'DropPath: rate 0.3 was clamped'],
  ['a Node deprecation warning', '(node:123) [DEP0044] DeprecationWarning: The `util.isArray` API is deprecated.'],
  ['a stack trace', 'Error: boom\n    at main (/x/examples/quickstart.js:3:9)'],
  ['a libtensorflow warning', 'W0000 00:00:1795948540.322498    3088 op_kernel.cc:1816] OP_REQUIRES failed'],
  ['a libtensorflow error', 'E0000 00:00:1795948540.322498    3088 some_file.cc:12] something broke'],
])('%s still counts', (_what, line) => {
  expect(unexpectedStderr(`${startup}\n${line}\n`).length).toBeGreaterThan(0);
});

test("cpu_feature_guard's second line is dropped only right after it", () => {
  const second = 'To enable the following instructions: AVX2, in other operations, rebuild TensorFlow with the appropriate compiler flags.';
  expect(unexpectedStderr(`Error: boom\n${second}\n`)).toEqual(['Error: boom', second]);
});

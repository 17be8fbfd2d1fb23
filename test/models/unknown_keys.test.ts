/**
 * A misspelt option must not silently leave its default in place (issue 17):
 * `dp.resnet({..., dropPathRat: 0.2})` trained with no drop path at all in
 * 0.4.0. Every argument object of the package refuses unknown keys, nested
 * ones included, naming the key and the nearest known one; tfjs' own layer
 * arguments and the configs saved by earlier versions stay accepted.
 */
import * as dp from '../../index';
import * as keras from '../../keras';
import {tf} from '../utils/tf';

const x4 = () => tf.input({shape: [8, 8, 4]});
const small = {inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 1}]};

test.each([
  ['resnet', () => dp.resnet({...small, dropPathRat: 0.2} as never), /resnet\(args\) has unknown key 'dropPathRat' \(did you mean 'dropPathRate'\?\)/],
  ['resnet stages[0]', () => dp.resnet({...small, stages: [{filters: 8, block: 2}]} as never),
    /resnet: stages\[0\] has unknown key 'block' \(did you mean 'blocks'\?\)/],
  ['resnet stem', () => dp.resnet({...small, stem: {filters: 8, kernelSzie: 3}} as never),
    /resnet: stem has unknown key 'kernelSzie' \(did you mean 'kernelSize'\?\)/],
  ['bottleneck', () => dp.bottleneck(x4(), {filters: 8, droppathrate: 0.1} as never),
    /bottleneck\(x, args\) has unknown key 'droppathrate' \(did you mean 'dropPathRate'\?\)/],
  ['convBnAct', () => dp.convBnAct(x4(), {filters: 8, kernelSize: 3, stride: 2} as never),
    /convBnAct\(x, args\) has unknown key 'stride' \(did you mean 'strides'\?\)/],
  ['DropPath', () => dp.layers.dropPath({rat: 0.1} as never), /DropPath\(args\) has unknown key 'rat' \(did you mean 'rate'\?\)/],
  ['StochasticResidual', () => dp.layers.stochasticResidual({branch: tf.layers.dense({units: 2}), rate: 0.1, stratgy: 'mask'} as never),
    /StochasticResidual\(args\) has unknown key 'stratgy' \(did you mean 'strategy'\?\)/],
  ['StochasticDepth', () => new dp.StochasticDepth({dropPathRate: 0.1, sed: 1} as never),
    /StochasticDepth\(args\) has unknown key 'sed' \(did you mean 'seed'\?\)/],
  ['DropPathScheduler', () => new dp.DropPathScheduler({schedule: dp.timeSchedules.constant(0.1), updateEvry: 'batch'} as never),
    /DropPathScheduler\(args\) has unknown key 'updateEvry' \(did you mean 'updateEvery'\?\)/],
  ['dropPath op', () => dp.dropPath(tf.ones([2, 2]), 0.5, {scale: false} as never), /dropPath\(x, rate, opts\) has unknown key 'scale'/],
  ['pruneBlocks', () => dp.pruneBlocks(dp.resnet({...small, stages: [{filters: 8, blocks: 2}]}), {kept: [0]} as never),
    /pruneBlocks\(model, args\) has unknown key 'kept' \(did you mean 'keep'\?\)/],
  ['dropPathSummary', () => dp.dropPathSummary(dp.resnet(small), {printed: true} as never),
    /dropPathSummary\(model, opts\) has unknown key 'printed' \(did you mean 'print'\?\)/],
])('%s refuses an unknown key, naming the nearest known one', (_name, call, message) => {
  expect(call).toThrow(message);
});

test('saveKerasModel and loadKerasModel refuse unknown option keys', async () => {
  await expect(keras.saveKerasModel(dp.resnet(small), undefined, {h5wasmURL: 'x'} as never))
    .rejects.toThrow(/saveKerasModel\(model, destination, options\) has unknown key 'h5wasmURL' \(did you mean 'h5wasmUrl'\?\)/);
  await expect(keras.loadKerasModel(new Uint8Array(4), {maxConfigbytes: 1} as never))
    .rejects.toThrow(/unknown key 'maxConfigbytes' \(did you mean 'maxConfigBytes'\?\)/);
});

test('tfjs\' own layer arguments stay accepted beside the package\'s', () => {
  const layer = dp.layers.dropPath({rate: 0.1, name: 'dp', inputShape: [4], dtype: 'float32', trainable: true, batchSize: 2});
  expect(layer.name).toBe('dp');
  const model = tf.sequential({layers: [layer]});
  expect(model.outputs[0]?.shape).toEqual([2, 4]);
  const block = dp.layers.stochasticResidual({branch: tf.layers.dense({units: 4, inputShape: [4]}), rate: 0.2, name: 'sr',
    batchInputShape: [null, 4]});
  expect(block.name).toBe('sr');
});

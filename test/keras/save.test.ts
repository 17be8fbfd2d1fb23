/**
 * Writing Keras 3 `.keras` files (issue 12): what saveKerasModel writes reads
 * back with the same predictions, in Keras' layout (checked here on the
 * file itself; Keras opening it is python/tests/test_bridge.py), and what
 * Keras would read differently is refused.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {unzipSync} from 'fflate';

import * as core from '../../index';
import * as keras from '../../keras';

const dp = {...core, ...keras};
import {readH5} from '../../keras/h5';
import {seed32} from '../../keras/export';
import {tf} from '../utils/tf';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'keras');

/** Every weight moved by a seeded draw, so that a swapped or lost variable shows in the predictions. */
function perturb(model: tf.LayersModel, seed: number): void {
  model.weights.forEach((w, i) => {
    const moved = tf.tidy(() => {
      const v = w.read().add(tf.randomNormal(w.shape as number[], 0, 0.3, 'float32', seed + i));
      return /moving_variance/.test(w.originalName) ? v.abs().add(0.1) : v;
    });
    w.write(moved);
    moved.dispose();
  });
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

const parts = (bytes: Uint8Array) => unzipSync(bytes);
const configOf = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(parts(bytes)['config.json'])) as
  {class_name: string; config: {layers: {class_name: string; registered_name: string | null; name: string; config: Record<string, unknown>;
    inbound_nodes: {args: unknown[]}[]}[]}};

describe('saveKerasModel', () => {
  test.each(['dropPath', 'stochasticResidual'] as const)('a resnet with blockType %s: Keras\' format, read back with the same predictions and weights',
    async (blockType) => {
      const model = dp.resnet({inputShape: [12, 12, 3], numClasses: 4, blockType, seed: 5, dropPathRate: 0.3,
        stages: [{filters: 8, blocks: 2}, {filters: 16, blocks: 1, strides: 2}]});
      perturb(model, 10);
      const bytes = await dp.saveKerasModel(model);
      const config = configOf(bytes);
      expect(config.class_name).toBe('Functional');
      const classes = config.config.layers.map((l) => `${l.class_name}:${l.registered_name}`);
      if (blockType === 'dropPath') {
        expect(classes.filter((c) => c === 'DropPath:tfjs_drop_path>DropPath').length).toBe(3);
        const add = config.config.layers.find((l) => l.class_name === 'Add');
        expect((add?.inbound_nodes[0]?.args[0] as unknown[]).length).toBe(2); // a merge layer takes a list
      } else {
        expect(classes.filter((c) => c === 'StochasticResidual:tfjs_drop_path>StochasticResidual').length).toBe(3);
      }
      expect(JSON.parse(new TextDecoder().decode(parts(bytes)['metadata.json'])).keras_version).toMatch(/^3\./);
      // Keras' weight layout: layers/<snake_case class>[_n]/vars/<i>, a StochasticResidual's models under branch/ and shortcut/.
      const datasets = await readH5(parts(bytes)['model.weights.h5'] as Uint8Array, 'test');
      const paths = datasets.map((d) => d.path);
      expect(paths).toContain('layers/conv2d/vars/0');
      expect(paths).toContain('layers/batch_normalization/vars/3');
      expect(paths).toContain('layers/dense/vars/1');
      if (blockType === 'stochasticResidual') {
        expect(paths).toContain('layers/stochastic_residual_2/shortcut/layers/conv2d/vars/0');
        expect(paths).toContain('layers/stochastic_residual/branch/layers/batch_normalization_2/vars/3');
        const rate = datasets.find((d) => d.path === 'layers/stochastic_residual/vars/0');
        expect(rate?.shape).toEqual([]);
      } else {
        expect(paths).toContain('layers/drop_path_2/vars/0');
      }
      const back = await dp.loadKerasModel(bytes);
      const x = tf.randomNormal([5, 12, 12, 3], 0, 1, 'float32', 3);
      expect(maxDiff(back.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
      const a = model.getWeights();
      const b = back.getWeights();
      expect(b.length).toBe(a.length);
      a.forEach((w, i) => expect(maxDiff(w, b[i] as tf.Tensor)).toBe(0));
    });

  test.each(['convnext_reduced', 'efficientnet_reduced', 'efficientnetv2_reduced', 'twin_drop_path'])(
    '%s: Keras → TF.js → .keras → TF.js gives the same predictions (nested models, grouped convs, LayerScale, Normalization)',
    async (name) => {
      const model = await dp.loadKerasModel(path.join(FIXTURES, `${name}.keras`));
      const x = tf.randomUniform([2, ...model.inputs[0]!.shape.slice(1) as number[]], 0, 255, 'float32', 4);
      const back = await dp.loadKerasModel(await dp.saveKerasModel(model));
      expect(maxDiff(back.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
    });

  test('a Sequential stays a Sequential; a destination path is written; the layers\' own rates are saved', async () => {
    const drop = new dp.DropPath({rate: 0.25, mode: 'batch', seed: 2 ** 40 + 7});
    const model = tf.sequential({layers: [tf.layers.dense({inputShape: [3], units: 4, kernelInitializer: tf.initializers.glorotUniform({seed: 2 ** 45})}),
      drop, tf.layers.dense({units: 2})]});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-save-'));
    try {
      const file = path.join(dir, 'seq.keras');
      await dp.saveKerasModel(model, file);
      const config = configOf(new Uint8Array(fs.readFileSync(file)));
      expect(config.class_name).toBe('Sequential');
      expect(config.config.layers.map((l) => l.class_name)).toEqual(['InputLayer', 'Dense', 'DropPath', 'Dense']);
      expect(config.config.layers[2]?.config).toMatchObject({rate: 0.25, mode: 'batch', seed: 2 ** 40 + 7});
      // Initializer seeds go into the 31 bits Keras' backends take, mapped as the Python twin maps its own.
      expect((config.config.layers[1]?.config.kernel_initializer as {config: {seed: number}}).config.seed).toBe(seed32(2 ** 45));
      expect(seed32(2 ** 45)).toBe(8192);
      const back = await dp.loadKerasModel(`file://${file}`);
      const x = tf.randomNormal([4, 3], 0, 1, 'float32', 1);
      expect(maxDiff(back.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  test('saved during a scheduled fit: the layers\' own rates go into the config and the rate variables, not the scheduled ones', async () => {
    const model = dp.resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 2}], dropPathRate: 0.4, seed: 2});
    model.compile({optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy'});
    const built = dp.dropPathSummary(model).rows.map((r) => r.rate);
    let saved: Uint8Array | undefined;
    let active: number[] = [];
    await model.fit(tf.randomNormal([8, 8, 8, 1], 0, 1, 'float32', 1), tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2),
      {epochs: 1, batchSize: 8, verbose: 0, callbacks: [new dp.DropPathScheduler({schedule: dp.timeSchedules.constant(0.05)}),
        new tf.CustomCallback({onEpochEnd: async () => {
          active = dp.dropPathSummary(model).rows.map((r) => r.activeRate);
          saved = await dp.saveKerasModel(model);
        }})]});
    expect(active[active.length - 1]).toBeCloseTo(0.05, 12); // the schedule was running when it saved
    const config = configOf(saved as Uint8Array);
    expect(config.config.layers.filter((l) => l.class_name === 'DropPath').map((l) => l.config.rate)).toEqual(built);
    const datasets = await readH5(parts(saved as Uint8Array)['model.weights.h5'] as Uint8Array, 'test');
    const variables = datasets.filter((d) => /drop_path(_\d+)?\/vars\/0$/.test(d.path)).map((d) => d.data?.[0] as number);
    variables.forEach((v, i) => expect(v).toBeCloseTo(built[i] as number, 6));
    expect(variables.length).toBe(built.length);
  });

  test('every layer Keras would read differently is named, with its class and why, in one error; nothing is written', async () => {
    const input = tf.input({shape: [6, 2]});
    const rnn = tf.layers.simpleRNN({units: 3, returnSequences: true, name: 'rnn'}).apply(input) as tf.SymbolicTensor;
    const hard = tf.layers.dense({units: 3, activation: 'hardSigmoid', name: 'hard'}).apply(rnn) as tf.SymbolicTensor;
    const shared = tf.layers.dense({units: 3, name: 'shared'});
    const twice = shared.apply(shared.apply(hard)) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: twice});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-save-'));
    try {
      const file = path.join(dir, 'refused.keras');
      const error = await dp.saveKerasModel(model, file).then(() => null, (e: Error) => e);
      expect(error?.message).toMatch(/cannot be written as a Keras 3 model that computes the same; 3 layers cannot/);
      expect(error?.message).toContain("'rnn' (SimpleRNN): no Keras 3 layer is known to compute the same function");
      expect(error?.message).toContain("'hard' (Dense): activation 'hard_sigmoid' is computed differently in Keras or is not there");
      expect(error?.message).toContain("'shared' (Dense): called 2 times (a shared layer)");
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  test('bad arguments get clear errors', async () => {
    await expect(dp.saveKerasModel({} as tf.LayersModel)).rejects.toThrow(/model must be a tf.LayersModel, but received/);
    const model = tf.sequential({layers: [tf.layers.dense({inputShape: [2], units: 1})]});
    await expect(dp.saveKerasModel(model, 42 as unknown as string)).rejects.toThrow(/destination must be a path or a file:\/\/ URL, but received/);
    await expect(dp.saveKerasModel(model, '/no/such/folder/m.keras')).rejects.toThrow(/cannot write '\/no\/such\/folder\/m.keras' \(ENOENT\)/);
  });
});

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {DropPath, layers as dpLayers} from '../../index';

import {roundTrip, saveToMemory} from '../utils/io';
import {onBackend, tf} from '../utils/tf';

function sequentialModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({units: 8, inputShape: [6], activation: 'relu'}));
  model.add(dpLayers.dropPath({rate: 0.25, seed: 17, name: 'dp_a'}));
  model.add(tf.layers.dense({units: 3}));
  // Seeded: unseeded, a whole-batch drop at 0.5 zeroes all 3 training steps 1 time in 8 and nothing trains.
  model.add(dpLayers.dropPath({rate: 0.5, mode: 'batch', scaleByKeep: false, seed: 29, name: 'dp_b'}));
  return model;
}

function functionalModel(): tf.LayersModel {
  const input = tf.input({shape: [6]});
  const stem = tf.layers.dense({units: 8, name: 'stem'}).apply(input) as tf.SymbolicTensor;
  let x = stem;
  for (let i = 0; i < 2; i++) {
    const branch = tf.layers.dense({units: 8, activation: 'relu', name: `branch_${i}`}).apply(x) as tf.SymbolicTensor;
    const dropped = dpLayers.dropPath({rate: 0.1 * (i + 1), seed: 100 + i, name: `drop_path_${i}`}).apply(branch);
    x = tf.layers.add({name: `add_${i}`}).apply([x, dropped as tf.SymbolicTensor]) as tf.SymbolicTensor;
  }
  const out = tf.layers.dense({units: 2, name: 'head'}).apply(x) as tf.SymbolicTensor;
  return tf.model({inputs: input, outputs: out});
}

function dropConfigs(model: tf.LayersModel) {
  return model.layers.filter((l) => l instanceof DropPath).map((l) => {
    const c = l.getConfig();
    return {name: c.name, rate: c.rate, mode: c.mode, scaleByKeep: c.scaleByKeep, seed: c.seed};
  });
}

async function expectSameModel(original: tf.LayersModel, loaded: tf.LayersModel) {
  expect(loaded.layers.filter((l) => l instanceof DropPath).length).toBeGreaterThan(0);
  expect(dropConfigs(loaded)).toEqual(dropConfigs(original));
  const x = tf.randomNormal([10, 6], 0, 1, 'float32', 4);
  const a = (original.predict(x) as tf.Tensor).dataSync();
  const b = (loaded.predict(x) as tf.Tensor).dataSync();
  expect(Array.from(b)).toEqual(Array.from(a)); // bit-identical
  // The loaded model trains, and its DropPath layers drop in training.
  loaded.compile({optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError'});
  const y = tf.zeros([10, loaded.outputs[0]?.shape[1] as number]);
  const h = await loaded.fit(x, y, {epochs: 3, verbose: 0});
  expect(h.history.loss?.every((v) => Number.isFinite(v as number))).toBe(true);
  const after = (loaded.predict(x) as tf.Tensor).dataSync();
  expect(Array.from(after)).not.toEqual(Array.from(a));
}

describe.each([
  ['Sequential', sequentialModel],
  ['functional', functionalModel],
])('%s model with DropPath layers', (_kind, make) => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-')); });
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}));

  test('saves to file:// and loads with tf.loadLayersModel', async () => {
    const model = make();
    const result = await model.save(`file://${dir}`);
    expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(0);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const text = JSON.stringify(json.modelTopology);
    expect(text).toContain('"class_name":"DropPath"');
    expect(text).toContain('"scale_by_keep"'); // snake_cased on save, camelCased on load
    const loaded = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
    await expectSameModel(model, loaded);
  });

  test('saves with tf.io.withSaveHandler and loads with tf.io.fromMemory', async () => {
    const model = make();
    const artifacts = await saveToMemory(model);
    expect(artifacts.weightData).toBeDefined();
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    await expectSameModel(model, loaded);
  });
});

test('a rate changed after building is what gets saved', async () => {
  const model = sequentialModel();
  const layer = model.getLayer('dp_a') as DropPath;
  layer.rate = 0.4;
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(await saveToMemory(model)));
  expect((loaded.getLayer('dp_a') as DropPath).rate).toBe(0.4);
});

test('a model.json with an out-of-range rate fails to load with the value named', async () => {
  const model = sequentialModel();
  const a = await saveToMemory(model);
  const topology = JSON.parse(JSON.stringify(a.modelTopology).replace('"rate":0.25', '"rate":2.5'));
  await expect(tf.loadLayersModel(tf.io.fromMemory({...a, modelTopology: topology})))
    .rejects.toThrow(/rate must be a finite number in \[0, 1\].*received 2\.5/);
});

test.each(['cpu', 'tensorflow'] as const)('on backend %s: memory round trip of DropPath and StochasticResidual, identical predictions', async (backend) => {
  await onBackend(backend, async () => {
    const input = tf.input({shape: [6]});
    const branch = tf.sequential({layers: [tf.layers.dense({units: 6, inputShape: [6], activation: 'relu'})]});
    const res = dpLayers.stochasticResidual({branch, rate: 0.3, seed: 2}).apply(input) as tf.SymbolicTensor;
    const out = dpLayers.dropPath({rate: 0.2, seed: 3}).apply(res) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: out});
    const loaded = await roundTrip(model);
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 5);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'StochasticResidual', 'DropPath']);
  });
});

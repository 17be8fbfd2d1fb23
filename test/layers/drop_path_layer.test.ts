import {DropPath, layers as dpLayers} from '../../index';
import {Probe} from '../utils/probe';
import {BACKENDS, onBackend, tf, trainingTensorCounts, zeroRows} from '../utils/tf';

describe('DropPath: symbolic', () => {
  test.each([[[4]], [[3, 5]], [[8, 8, 3]], [[2, 4, 4, 2]]])('input shape %j keeps its shape, null batch', (shape) => {
    const input = tf.input({shape});
    const out = dpLayers.dropPath({rate: 0.2}).apply(input) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, ...shape]);
  });

  test('factory returns a DropPath registered under its literal className', () => {
    const layer = dpLayers.dropPath({rate: 0.3});
    expect(layer).toBeInstanceOf(DropPath);
    expect(layer.getClassName()).toBe('DropPath');
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.DropPath?.[0]).toBe(DropPath);
  });

  test('defaults: mode row, scaleByKeep true, no seed', () => {
    const config = dpLayers.dropPath({rate: 0.3}).getConfig();
    expect(config).toMatchObject({rate: 0.3, mode: 'row', scaleByKeep: true});
    expect(config).not.toHaveProperty('seed');
  });
});

describe.each(BACKENDS)('DropPath layer on backend %s', (backend) => {
  const run = <T>(fn: () => T | Promise<T>) => onBackend(backend, fn);

  test('drops only when kwargs.training === true', () => run(() => {
    const layer = dpLayers.dropPath({rate: 0.5, seed: 1});
    const x = tf.ones([64, 3]);
    for (const kwargs of [{}, {training: false}, {training: undefined}, {training: 'yes'}, {training: 1}]) {
      const y = layer.apply(x, kwargs as {training?: boolean}) as tf.Tensor;
      expect(Array.from(y.dataSync()).every((v) => v === 1)).toBe(true);
    }
    const y = layer.apply(x, {training: true}) as tf.Tensor;
    expect(new Set(y.dataSync())).toEqual(new Set([0, 2]));
  }));

  test('rate is writable on the built layer and takes effect on the next call', () => run(() => {
    const layer = dpLayers.dropPath({rate: 0, seed: 3});
    const x = tf.ones([64, 2]);
    expect(zeroRows(layer.apply(x, {training: true}) as tf.Tensor).some((d) => d)).toBe(false);
    layer.rate = 1;
    expect(Array.from((layer.apply(x, {training: true}) as tf.Tensor).dataSync()).every((v) => v === 0)).toBe(true);
    layer.rate = 0.5;
    const v = (layer.apply(x, {training: true}) as tf.Tensor).dataSync();
    expect(new Set(v)).toEqual(new Set([0, 2]));
    expect(layer.getConfig().rate).toBe(0.5);
    expect(() => { layer.rate = 1.5; }).toThrow(/rate must be a finite number in \[0, 1\].*received 1\.5/);
    expect(layer.rate).toBe(0.5);
  }));

  test('seeded: reproducible across layers (runs), different across calls', () => run(() => {
    const x = tf.ones([32, 1]);
    const masks = (layer: DropPath) =>
      Array.from({length: 5}, () => zeroRows(layer.apply(x, {training: true}) as tf.Tensor).join());
    const a = masks(dpLayers.dropPath({rate: 0.5, seed: 123}));
    const b = masks(dpLayers.dropPath({rate: 0.5, seed: 123}));
    const c = masks(dpLayers.dropPath({rate: 0.5, seed: 124}));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(5); // a fresh mask on every call
    expect(c).not.toEqual(a);
    // The trap the stream avoids: tf.randomUniform with a fixed seed repeats itself.
    const u1 = tf.randomUniform([4], 0, 1, 'float32', 123).dataSync();
    const u2 = tf.randomUniform([4], 0, 1, 'float32', 123).dataSync();
    expect(Array.from(u1)).toEqual(Array.from(u2));
  }));

  test("mode 'batch' drops the whole batch together", () => run(() => {
    const layer = dpLayers.dropPath({rate: 0.5, mode: 'batch', seed: 8});
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const rows = zeroRows(layer.apply(tf.ones([6, 2]), {training: true}) as tf.Tensor);
      expect(new Set(rows).size).toBe(1);
      seen.add(String(rows[0]));
    }
    expect(seen.size).toBe(2);
  }));

  test('rate 1 in training is exact zeros; the input is not mutated', () => run(() => {
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 1);
    const before = Array.from(x.dataSync());
    const y = dpLayers.dropPath({rate: 1}).apply(x, {training: true}) as tf.Tensor;
    expect(Array.from(y.dataSync()).every((v) => Object.is(v, 0) || v === 0)).toBe(true);
    expect(Array.from(x.dataSync())).toEqual(before);
  }));
});

describe('DropPath inside model.fit / predict / evaluate (tfjs-node)', () => {
  function build(rate: number) {
    const probe = new Probe({});
    const input = tf.input({shape: [4]});
    const dropped = dpLayers.dropPath({rate, seed: 5}).apply(input) as tf.SymbolicTensor;
    const probed = probe.apply(dropped) as tf.SymbolicTensor;
    const out = tf.layers.dense({units: 1, kernelInitializer: 'ones'}).apply(probed) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: out});
    model.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
    return {model, probe};
  }

  test('fit drops and scales; predict, evaluate and validation do not', async () => {
    const {model, probe} = build(0.5);
    const x = tf.ones([32, 4]);
    const y = tf.zeros([32, 1]);
    await model.fit(x, y, {epochs: 2, batchSize: 32, validationData: [x, y], verbose: 0});
    const train = probe.calls.filter((c) => c.training === true);
    const other = probe.calls.filter((c) => c.training !== true);
    expect(train.length).toBe(2);
    expect(other.length).toBe(2); // the validation passes
    for (const c of train) {
      expect(c.zeroRows.some((d) => d)).toBe(true);
      expect(new Set(c.values)).toEqual(new Set([0, 2]));
    }
    probe.calls.length = 0;
    model.predict(x);
    model.evaluate(x, y);
    expect(probe.calls.length).toBe(2);
    for (const c of [...other, ...probe.calls]) {
      expect(c.training).not.toBe(true);
      expect(Array.from(c.values).every((v) => v === 1)).toBe(true);
    }
  });

  test('trainOnBatch passes training and drops', async () => {
    const {model, probe} = build(0.5);
    await model.trainOnBatch(tf.ones([32, 4]), tf.zeros([32, 1]));
    expect(probe.calls[0]?.training).toBe(true);
    expect(probe.calls[0]?.zeroRows.some((d) => d)).toBe(true);
  });

  test('no tensor leaks across repeated fit / predict / evaluate', async () => {
    const {model} = build(0.3);
    const x = tf.randomNormal([64, 4], 0, 1, 'float32', 1);
    const y = tf.randomNormal([64, 1], 0, 1, 'float32', 2);
    const counts = await trainingTensorCounts(model, x, y, 16);
    expect(new Set(counts).size).toBe(1);
  });
});

describe('DropPath: bad input', () => {
  const badRates: [string, unknown][] = [
    ['negative', -0.1], ['above 1', 1.01], ['NaN', NaN], ['Infinity', Infinity],
    ['a string', '0.1'], ['undefined', undefined], ['null', null],
  ];
  test.each(badRates)('rate %s is rejected at construction, naming the value', (_name, rate) => {
    expect(() => dpLayers.dropPath({rate} as {rate: number}))
      .toThrow(/DropPath: rate must be a finite number in \[0, 1\].*but received/);
  });

  test.each([
    ['mode', {rate: 0.1, mode: 'sample'}, /DropPath: mode must be one of 'row', 'batch', but received "sample"/],
    ['scaleByKeep', {rate: 0.1, scaleByKeep: 'yes'}, /DropPath: scaleByKeep must be a boolean.*received "yes"/],
    ['seed', {rate: 0.1, seed: 1.5}, /DropPath: seed must be an integer.*received 1\.5/],
    ['args', null, /DropPath: args must be an object with a rate, but received null/],
  ])('%s is validated at construction', (_name, args, message) => {
    expect(() => dpLayers.dropPath(args as never)).toThrow(message);
  });

  test.each([
    ['an int32 tensor', () => tf.ones([4, 2], 'int32'), /dtype 'int32'/],
    ['a bool tensor', () => tf.ones([4, 2], 'bool'), /float32 tensor.*dtype 'bool'/],
    ['a scalar', () => tf.scalar(1), /rank >= 1.*rank-0/],
  ])('%s is rejected at call', (_name, make, message) => {
    const layer = dpLayers.dropPath({rate: 0.2});
    expect(() => layer.apply(make(), {training: true})).toThrow(message);
  });

  test('the op rejects the same inputs with the argument named', () => {
    const {dropPath} = jest.requireActual('../../index') as typeof import('../../index');
    expect(() => dropPath(tf.ones([2]), 2)).toThrow(/dropPath: rate must be .*received 2\./);
    expect(() => dropPath(tf.ones([2]), 0.1, {mode: 'x' as never})).toThrow(/dropPath: opts\.mode must be one of/);
    expect(() => dropPath(tf.ones([2], 'int32'), 0.1)).toThrow(/dropPath: x must be a float32 tensor/);
    expect(() => dropPath([1, 2] as never, 0.1)).toThrow(/dropPath: x must be a tf\.Tensor, but received an array/);
    expect(() => dropPath(tf.ones([2]), 0.1, {training: 'no' as never})).toThrow(/opts\.training must be a boolean/);
    expect(() => dropPath(tf.ones([2]), 0.1, {seed: NaN})).toThrow(/opts\.seed must be an integer.*NaN/);
  });
});

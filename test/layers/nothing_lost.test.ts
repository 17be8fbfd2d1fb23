/**
 * Nothing lost, nothing cryptic: a model that saves must load; properties stay
 * valid after construction; null has one rule; configs and messages name what
 * the user passed.
 */
import {DropPath, StochasticResidual, bottleneck, convBnAct, dropPath, layers as dpLayers, resnet} from '../../index';
import {roundTrip} from '../utils/io';
import {tf} from '../utils/tf';

let n = 0;
const uid = (p: string) => `${p}_nl${++n}`;

describe('a model that saves must load', () => {
  test('a branch and a shortcut given as plain layers both have a kernel: saved under distinct names, loads back', async () => {
    const input = tf.input({shape: [4]});
    const block = dpLayers.stochasticResidual({branch: tf.layers.dense({units: 4, name: uid('b')}),
      shortcut: tf.layers.dense({units: 4, name: uid('s')}), rate: 0.3, seed: 1, name: uid('res')});
    const model = tf.model({inputs: input, outputs: block.apply(input) as tf.SymbolicTensor});
    const names = model.weights.map((w) => w.originalName);
    expect(new Set(names).size).toBe(4);
    const loaded = await roundTrip(model);
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 2);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
  });

  test('two blocks whose branches hold a layer of the same name are refused when the model is built', () => {
    const branch = () => tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4], name: 'same_inside'})]});
    const input = tf.input({shape: [4]});
    const first = dpLayers.stochasticResidual({branch: branch(), rate: 0.5, name: uid('first')}).apply(input) as tf.SymbolicTensor;
    expect(() => dpLayers.stochasticResidual({branch: branch(), rate: 0.5, name: 'second_block'}).apply(first))
      .toThrow(/StochasticResidual 'second_block': its weight 'same_inside\/kernel' has the same saved name as a weight of layer '.*first.*' .* fail to load/);
  });

  test('a clash with a top-level layer of the model is refused too, also when it joins the graph later (on save)', async () => {
    const input = tf.input({shape: [4]});
    const block = dpLayers.stochasticResidual({branch: tf.sequential({layers: [
      tf.layers.dense({units: 4, inputShape: [4], name: 'clash_dense'})]}), rate: 0.5, name: uid('res')});
    const y = block.apply(input) as tf.SymbolicTensor;
    const z = tf.layers.dense({units: 4, name: 'clash_dense'}).apply(y) as tf.SymbolicTensor; // added after the block
    const model = tf.model({inputs: input, outputs: z});
    await expect(roundTrip(model)).rejects.toThrow(/its weight 'clash_dense\/kernel' has the same saved name .* 'clash_dense'/);
  });
});

describe('properties validated at construction stay valid', () => {
  test.each([
    ['DropPath', 'mode', 'sample', /DropPath '.*': mode must be one of 'row', 'batch', but received "sample"/],
    ['DropPath', 'scaleByKeep', 'yes', /DropPath '.*': scaleByKeep must be a boolean .* received "yes"/],
    ['DropPath', 'seed', 5, /DropPath '.*': seed is fixed at construction/],
    ['StochasticResidual', 'mode', null, /mode must be one of 'row', 'batch', but received null/],
    ['StochasticResidual', 'strategy', 'drop', /StochasticResidual '.*': strategy must be one of 'skip', 'mask', but received "drop"/],
    ['StochasticResidual', 'scaleByKeep', 1, /scaleByKeep must be a boolean .* received 1/],
    ['StochasticResidual', 'seed', 5, /StochasticResidual '.*': seed is fixed at construction/],
  ])('%s.%s = %j throws and keeps the valid value', (cls, prop, value, message) => {
    const layer = (cls === 'DropPath' ? new DropPath({rate: 0.2, seed: 1}) :
      new StochasticResidual({branch: tf.layers.dense({units: 4}), rate: 0.2, seed: 1})) as unknown as Record<string, unknown>;
    const before = layer[prop];
    expect(() => { layer[prop] = value; }).toThrow(message);
    expect(layer[prop]).toBe(before);
    expect((layer as unknown as tf.layers.Layer).getConfig()[prop]).toBe(before);
  });

  test('valid values can be assigned, take effect on the next call and are saved', () => {
    const block = new StochasticResidual({branch: tf.layers.dense({units: 4}), rate: 0.2});
    block.mode = 'batch';
    block.strategy = 'mask';
    block.scaleByKeep = false;
    expect(block.getConfig()).toMatchObject({mode: 'batch', strategy: 'mask', scaleByKeep: false});
  });
});

describe('null: left out or undefined gives the default; null is "none" only where an argument can be none', () => {
  const x4 = () => tf.input({shape: [8, 8, 4]});
  test.each([
    ['dropPath opts.mode', () => dropPath(tf.ones([2, 2]), 0.5, {mode: null as never}), /dropPath: opts\.mode must not be null: leave it out .* default, "row"/],
    ['dropPath opts.training', () => dropPath(tf.ones([2, 2]), 0.5, {training: null as never}), /opts\.training must not be null.* default, true/],
    ['DropPath mode', () => new DropPath({rate: 0.1, mode: null as never}), /DropPath: mode must not be null/],
    ['DropPath scaleByKeep', () => new DropPath({rate: 0.1, scaleByKeep: null as never}), /DropPath: scaleByKeep must not be null/],
    ['StochasticResidual strategy', () => new StochasticResidual({branch: tf.layers.dense({units: 2}), rate: 0.1, strategy: null as never}),
      /StochasticResidual: strategy must not be null.* default, "skip"/],
    ['convBnAct strides', () => convBnAct(x4(), {filters: 4, kernelSize: 1, strides: null as never}), /convBnAct: strides must not be null/],
    ['bottleneck dropPathRate', () => bottleneck(x4(), {filters: 4, dropPathRate: null as never}), /bottleneck: dropPathRate must not be null.* default, 0/],
    ['resnet schedule', () => resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 1}], schedule: null as never}),
      /resnet: schedule must not be null.* default, "linear"/],
  ])('%s: null is an error that names it', (_w, fn, message) => expect(fn).toThrow(message));

  test('where null means none it is accepted: activation, shortcut, stem, seed', () => {
    const y = convBnAct(x4(), {filters: 4, kernelSize: 1, activation: null, seed: null as never});
    expect(y.shape).toEqual([null, 8, 8, 4]);
    expect(new StochasticResidual({branch: tf.layers.dense({units: 2}), rate: 0.1, shortcut: null}).shortcut).toBeNull();
    const m = resnet({inputShape: [8, 8, 8], numClasses: 2, stages: [{filters: 8, blocks: 1}], stem: null});
    expect(m.layers.some((l) => l.name.startsWith('stem'))).toBe(false);
  });
});

describe('messages name what the user passed', () => {
  test.each([
    ['resnet filters 50 (not a multiple of the default reduction)',
      () => resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 50, blocks: 1}]}),
      /resnet: stages\[0\]\.filters \(50\) must be divisible by reduction \(4, the default\)/],
    ['resnet stem filters 0', () => resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 1}], stem: {filters: 0}}),
      /resnet: stem\.filters must be a positive integer, but received 0/],
    ['convBnAct without options', () => (convBnAct as (x: unknown) => unknown)(tf.input({shape: [8, 8, 1]})),
      /convBnAct: args must be an object with filters and kernelSize, but received undefined/],
  ])('%s', (_w, fn, message) => {
    let error: unknown;
    try { fn(); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).constructor).toBe(Error); // ours, not a TypeError from inside
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/12\.5/);
  });

  test.each([
    [{rate: 0.1, name: 'blk', branch: null}, /StochasticResidual 'blk': config field 'branch' must be \{className, config\} of the branch layer, but received null/],
    [{rate: 0.1, name: 'blk'}, /StochasticResidual 'blk': config field 'branch' must be .* received undefined/],
    [{rate: 0.1, name: 'blk', branch: {className: 'Dense'}}, /config field 'branch\.config' must be the branch layer's config object, but received undefined/],
    [{rate: 0.1, name: 'blk', branch: {config: {}}}, /config field 'branch\.className' must be a layer class name, but received undefined/],
    [{rate: 0.1, name: 'blk', branch: {className: 'Nope', config: {}}}, /config field 'branch\.className': class "Nope" is not registered/],
    [{rate: 0.1, name: 'blk', branch: {className: 'Dense', config: {units: 2}}, shortcut: 7}, /config field 'shortcut' must be .* received 7/],
  ])('a broken config %j says which layer and which field', (config, message) => {
    expect(() => StochasticResidual.fromConfig(StochasticResidual, config as never)).toThrow(message);
  });

  test('customObjects are honoured before the registry for nested classes', () => {
    class MyDense extends tf.layers.Layer {
      static className = 'MyDenseNL';
      override computeOutputShape(s: tf.Shape) { return s; }
    }
    const block = StochasticResidual.fromConfig(StochasticResidual,
      {rate: 0.1, branch: {className: 'MyDenseNL', config: {}}} as never, {MyDenseNL: [MyDense, (_c: never, cfg: never) => new MyDense(cfg)]} as never);
    expect((block as unknown as StochasticResidual).branch).toBeInstanceOf(MyDense);
  });
});

describe('a step that drops every block still trains', () => {
  test.each([['skip', 'row'], ['skip', 'batch'], ['mask', 'row']] as const)(
    "'%s' '%s': a model whose only weights are in blocks at rate 1 fits, with zero gradients, like 'mask'", async (strategy, mode) => {
      const input = tf.input({shape: [4]});
      const blocks = [0, 1].map(() => dpLayers.stochasticResidual({branch: tf.layers.dense({units: 4, name: uid('d')}), rate: 1,
        strategy, mode, name: uid('res')}));
      const out = blocks.reduce((h, b) => b.apply(h) as tf.SymbolicTensor, input as tf.SymbolicTensor);
      const model = tf.model({inputs: input, outputs: out});
      model.compile({optimizer: tf.train.adam(0.1), loss: 'meanSquaredError'});
      const before = model.getWeights().map((w) => Array.from(w.dataSync()));
      const h = await model.fit(tf.ones([8, 4]), tf.zeros([8, 4]), {epochs: 2, batchSize: 4, verbose: 0});
      expect(h.history.loss).toEqual([1, 1]); // the output is the input: nothing of the branches reaches it
      expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before); // zero gradients, first Adam steps move nothing
    });
});

/**
 * Keras 3 config.json → tfjs topology (keras/translate.ts), rule by rule, on
 * configs written here (the fixtures test it end to end against Keras).
 */
import {translateKerasConfig} from '../../keras/translate';

type Json = Record<string, unknown>;
const tensor = (layer: string, node = 0, index = 0) => ({class_name: '__keras_tensor__', config: {keras_history: [layer, node, index]}});
const input = (name = 'x', shape: unknown[] = [null, 8, 8, 3]) =>
  ({module: 'keras.layers', class_name: 'InputLayer', name, config: {name, batch_shape: shape}, inbound_nodes: []});
const layer = (cls: string, name: string, config: Json, from: unknown[] = [tensor('x')], extra: Json = {}) =>
  ({module: 'keras.layers', class_name: cls, name, config: {name, dtype: 'float32', ...config}, registered_name: null,
    inbound_nodes: [{args: from, kwargs: {}}], ...extra});
const functional = (layers: unknown[], out = 'y', inputs: unknown = ['x', 0, 0]) =>
  ({module: 'keras.src.models.functional', class_name: 'Functional', config: {name: 'm', layers, input_layers: inputs, output_layers: [out, 0, 0]}});
const layersOf = (t: {topology: Json}) => (t.topology.config as {layers: Json[]}).layers;

test('InputLayer batch_shape becomes batch_input_shape; flat input and output layers become lists; a weight plan per layer', () => {
  const t = translateKerasConfig(functional([input(), layer('Dense', 'y', {units: 2, activation: 'linear'})]), 'test');
  expect(layersOf(t)[0]).toMatchObject({class_name: 'InputLayer', config: {batch_input_shape: [null, 8, 8, 3]}});
  expect(t.topology.config).toMatchObject({input_layers: [['x', 0, 0]], output_layers: [['y', 0, 0]]});
  expect(layersOf(t)[1]?.inbound_nodes).toEqual([[['x', 0, 0, {}]]]);
  expect(t.weights).toEqual([{layerPath: ['y'], h5Group: 'layers/dense', transform: 'identity'}]);
});

test('silu is swish; a grouped Conv2D over its input channels is a DepthwiseConv2D with a reshaped kernel', () => {
  const t = translateKerasConfig(functional([input(),
    layer('Conv2D', 'y', {filters: 6, kernel_size: [3, 3], groups: 3, activation: 'silu', kernel_initializer: null},
      [tensor('x')], {build_config: {input_shape: [null, 8, 8, 3]}})]), 'test');
  expect(layersOf(t)[1]).toMatchObject({class_name: 'DepthwiseConv2D', config: {depth_multiplier: 2, activation: 'swish'}});
  expect(t.weights[0]?.transform).toBe('groupedToDepthwise');
  expect(t.notes.join()).toMatch(/Conv2D with groups 3 read as DepthwiseConv2D \(depth multiplier 2\)/);
});

test('a call into a nested model is shifted one node (tfjs counts the nested model\'s own construction as node 0)', () => {
  const nested = {module: 'keras', class_name: 'Sequential', name: 'seq', config: {name: 'seq', layers: [
    {module: 'keras.layers', class_name: 'InputLayer', config: {name: 'seq_in', batch_shape: [null, 4]}},
    {module: 'keras.layers', class_name: 'Dense', config: {name: 'd', units: 4}}]}, inbound_nodes: [{args: [tensor('x')], kwargs: {}}]};
  const t = translateKerasConfig(functional([input('x', [null, 4]), nested, layer('Dense', 'y', {units: 2}, [tensor('seq')])]), 'test');
  expect(layersOf(t)[2]?.inbound_nodes).toEqual([[['seq', 1, 0, {}]]]);
  expect(t.weights.map((w) => w.h5Group)).toEqual(['layers/sequential/layers/dense', 'layers/dense']);
});

test('the stochastic-depth family: ConvNeXt\'s and Model Garden\'s StochasticDepth are DropPath; the twin\'s rate is a checked variable', () => {
  const t = translateKerasConfig(functional([input(),
    layer('StochasticDepth', 'a', {drop_path_rate: 0.3}, [tensor('x')], {module: 'keras.src.applications.convnext', registered_name: 'StochasticDepth'}),
    layer('StochasticDepth', 'b', {stochastic_depth_drop_rate: null}, [tensor('a')], {module: 'official.vision.modeling.layers.nn_layers'}),
    layer('DropPath', 'y', {rate: 0.1, mode: 'batch', seed: 4}, [tensor('b')], {module: 'tfjs_drop_path.layers', registered_name: 'tfjs_drop_path>DropPath'})]), 'test');
  expect(layersOf(t).slice(1).map((l) => [l.class_name, (l.config as Json).rate])).toEqual([['DropPath', 0.3], ['DropPath', 0], ['DropPath', 0.1]]);
  expect((layersOf(t)[3]?.config as Json).seed).toBe(4);
  expect(t.weights.map((w) => w.transform)).toEqual(['identity', 'identity', 'rateVariable']);
});

test('Keras\' recorded training flags are not pinned modes: a Dropout keeps its rate and noise shape', () => {
  const t = translateKerasConfig(functional([input(),
    {...layer('Dropout', 'y', {rate: 0.2, noise_shape: [null, 1, 1, 1]}), inbound_nodes: [{args: [tensor('x')], kwargs: {training: false}}]}]), 'test');
  expect(layersOf(t)[1]?.config).toMatchObject({rate: 0.2, noise_shape: [null, 1, 1, 1]});
  expect(t.notes).toEqual([]);
});

test('a Dropout with a seed or at rate 1, and the spatial dropouts, are KerasDropout (Keras\' semantics), each with a note', () => {
  const t = translateKerasConfig(functional([input('x', [null, 4, 4, 4, 3]),
    layer('Dropout', 'seeded', {rate: 0.3, noise_shape: null, seed: 7}),
    layer('Dropout', 'all', {rate: 1, noise_shape: null, seed: null}, [tensor('seeded')]),
    layer('Dropout', 'plain', {rate: 0.3, noise_shape: null, seed: null}, [tensor('all')]),
    layer('SpatialDropout3D', 's3', {rate: 0.2, seed: null, data_format: 'channels_last'}, [tensor('plain')]),
    layer('SpatialDropout3D', 'y', {rate: 0.2, seed: 3, data_format: 'channels_first'}, [tensor('s3')])]), 'test');
  expect(layersOf(t).slice(1).map((l) => [l.class_name, (l.config as Json).noise_shape, (l.config as Json).seed])).toEqual([
    ['KerasDropout', null, 7], ['KerasDropout', null, undefined], ['Dropout', null, null],
    ['KerasDropout', [null, 1, 1, 1, null], undefined], ['KerasDropout', [null, null, 1, 1, 1], 3]]);
  expect(t.notes).toEqual([
    "'seeded': Dropout with seed 7 read as KerasDropout: a new mask every training call, as in Keras (tfjs' seeded Dropout repeats one mask)",
    "'all': Dropout at rate 1 read as KerasDropout: zeros in training, as in Keras (tfjs' Dropout passes its input through at rate 1)",
    "'s3': SpatialDropout3D read as KerasDropout with noise shape [null,1,1,1,null] (one draw per sample and channel; written back to Keras as a Dropout of that noise shape)",
    "'y': SpatialDropout3D read as KerasDropout with noise shape [null,null,1,1,1] (one draw per sample and channel; written back to Keras as a Dropout of that noise shape)"]);
  const one = translateKerasConfig(functional([input('x', [null, 5, 3]), layer('SpatialDropout1D', 'y', {rate: 0.2, seed: null})]), 'test');
  expect((layersOf(one)[1]?.config as Json).noise_shape).toEqual([null, 1, null]);
  for (const [config, message] of [[{rate: 2}, /'y' \(Dropout\): rate 2: expected a number in \[0, 1\]/],
    [{rate: 0.1, seed: 0.5}, /'y' \(Dropout\): seed 0.5: expected an integer or null/],
    [{rate: 0.1, noise_shape: [null, -1]}, /noise_shape \[null,-1\]: expected a list of positive integers and None/]] as const) {
    expect(() => translateKerasConfig(functional([input(), layer('Dropout', 'y', config)]), 'test')).toThrow(message);
  }
  expect(() => translateKerasConfig(functional([input(), layer('SpatialDropout2D', 'y', {rate: 0.1, data_format: 'nhwc'})]), 'test'))
    .toThrow(/data_format "nhwc": expected 'channels_last' or 'channels_first'/);
});

test.each([
  ['a Lambda', layer('Lambda', 'y', {function: 'x'}), /'y' \(Lambda\): a Lambda layer holds Python code, which is never run/],
  ['mixed precision', layer('Dense', 'y', {units: 2, dtype: {class_name: 'DTypePolicy', config: {name: 'mixed_float16'}}}),
    /'y' \(Dense\): dtype policy "mixed_float16"/],
  ['an explicit mask', {...layer('Dense', 'y', {units: 2}), inbound_nodes: [{args: [tensor('x')], kwargs: {mask: tensor('x')}}]},
    /'y' \(Dense\): called with keyword arguments mask/],
  ['a constant argument', {...layer('Add', 'y', {}), module: 'keras.src.ops.numpy', inbound_nodes: [{args: [tensor('x'), 2], kwargs: {}}]},
    /'y' \(Add\): called with constant \(non-tensor\) arguments/],
  ['an unknown activation', layer('Dense', 'y', {units: 2, activation: 'gelu_approximate'}), /activation 'gelu_approximate' has no tfjs equivalent/],
  ['a custom Dense', {...layer('Dense', 'y', {units: 2}), module: 'acme.layers', registered_name: 'acme>Dense'}, /a custom layer named like Keras' Dense/],
])('%s is refused, naming the layer', (_name, bad, message) => {
  expect(() => translateKerasConfig(functional([input(), bad]), 'test')).toThrow(message);
});

test('every refused layer is listed in one error, and a subclassed model is refused by its class', () => {
  expect(() => translateKerasConfig(functional([input(), layer('Lambda', 'a', {}), layer('LSTM', 'y', {units: 2}, [tensor('a')])]), 'test'))
    .toThrow(/2 layers cannot:\n {2}'a' \(Lambda\)[\s\S]*'y' \(LSTM\): no tfjs layer of this class/);
  expect(() => translateKerasConfig({class_name: 'MyModel', config: {}}, 'test')).toThrow(/describes a 'MyModel', not a Functional or Sequential model/);
});

/**
 * tfjs topology → Keras 3 config and weight layout (keras/export.ts), rule by
 * rule, with a fake source for shapes and weights (the pytest suite checks
 * the files in Keras itself).
 */
import {exportKerasModel, seed32} from '../../keras/export';

type Json = Record<string, unknown>;
const source = {
  outputShapes: () => [[null, 4]],
  weights: (p: string[]) => (p[p.length - 1] === 'dense' ? [{shape: [4, 4], data: new Float32Array(16)}, {shape: [4], data: new Float32Array(4)}] : []),
};
const model = (layers: Json[]) => ({class_name: 'Model', config: {name: 'm', layers, input_layers: [['x', 0, 0]], output_layers: [['dense', 0, 0]]}});
const inputLayer = {name: 'x', class_name: 'InputLayer', config: {name: 'x', batch_input_shape: [null, 4], dtype: 'float32'}, inbound_nodes: []};
const dense = (config: Json = {}, name = 'dense') => ({name, class_name: 'Dense', inbound_nodes: [[['x', 0, 0, {}]]],
  config: {name, units: 4, activation: 'linear', use_bias: true, trainable: true, dtype: 'float32', kernel_initializer: null,
    bias_initializer: null, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null,
    bias_constraint: null, ...config}});

test('a Dense: Keras 3\'s serialized form, __keras_tensor__ histories, the weights under layers/dense/vars with the layer name', () => {
  const out = exportKerasModel(model([inputLayer, dense()]), source, 'test');
  expect(out.config).toMatchObject({module: 'keras.src.models.functional', class_name: 'Functional',
    config: {input_layers: ['x', 0, 0], output_layers: ['dense', 0, 0]}});
  const layer = ((out.config.config as Json).layers as Json[])[1] as Json;
  expect(layer).toMatchObject({module: 'keras.layers', class_name: 'Dense', registered_name: null});
  expect(layer.inbound_nodes).toEqual([{args: [{class_name: '__keras_tensor__', config: {shape: [null, 4], dtype: 'float32',
    keras_history: ['x', 0, 0]}}], kwargs: {}}]);
  expect(out.datasets.map((d) => [d.path, d.shape])).toEqual([['layers/dense/vars/0', [4, 4]], ['layers/dense/vars/1', [4]]]);
  expect(out.groups).toEqual([['layers/dense/vars', 'dense']]);
});

test.each([
  ['a name Keras 3 refuses', dense({}, 'block/dense'), /'block\/dense' \(Dense\): its name contains '\/', which Keras 3 refuses/],
  ['an activation Keras computes differently', dense({activation: 'hardSigmoid'}), /activation 'hardSigmoid' is computed differently in Keras/],
  ['a config field with no Keras counterpart', dense({made_up: 1}), /config field made_up has no Keras 3 counterpart/],
])('%s is refused in the one error', (_name, layer, message) => {
  expect(() => exportKerasModel(model([inputLayer, layer]), source, 'test')).toThrow(message);
});

test('a layer called twice (shared) is refused; nothing is written for a refused model', () => {
  const shared = {...dense(), inbound_nodes: [[['x', 0, 0, {}]], [['x', 0, 0, {}]]]};
  expect(() => exportKerasModel(model([inputLayer, shared]), source, 'test')).toThrow(/called 2 times \(a shared layer\)/);
});

test('seed32 maps a JS-safe seed to 31 bits as the Python twin does', () => {
  expect(seed32(5)).toBe(5);
  expect(seed32(2 ** 40 + 1)).toBe((2 ** 40 + 1 ^ 2 ** 8) % 2 ** 31);
  expect(seed32(2 ** 31)).toBe(0);
});

test('KerasDropout and FixedDropout are written as Keras\' own Dropout (which computes what they do), seeds in 32 bits', () => {
  const drop = (cls: string, name: string, config: Json) => ({name, class_name: cls, inbound_nodes: [[['x', 0, 0, {}]]],
    config: {name, trainable: true, dtype: 'float32', ...config}});
  const out = exportKerasModel({class_name: 'Model', config: {name: 'm', layers: [inputLayer,
    drop('KerasDropout', 'kd', {rate: 1, noise_shape: [null, 1], seed: 2 ** 40 + 1}),
    drop('FixedDropout', 'fd', {rate: 0.2, noise_shape: null, seed: null})],
  input_layers: [['x', 0, 0]], output_layers: [['fd', 0, 0]]}}, source, 'test');
  const [kd, fd] = ((out.config.config as Json).layers as Json[]).slice(1) as Json[];
  expect(kd).toMatchObject({module: 'keras.layers', class_name: 'Dropout', config: {name: 'kd', rate: 1, noise_shape: [null, 1], seed: seed32(2 ** 40 + 1)}});
  expect(fd).toMatchObject({module: 'keras.layers', class_name: 'Dropout', config: {name: 'fd', rate: 0.2, noise_shape: null, seed: null}});
});

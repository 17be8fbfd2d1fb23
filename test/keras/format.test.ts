/** The Keras format toolkit (keras/format.ts): names, origins, drop fields, the one refusal error. */
import {dropFields, h5GroupNamer, originProblem, Refusals, snakeCase} from '../../keras/format';

test.each([
  ['Conv2D', 'conv2d'], ['BatchNormalization', 'batch_normalization'], ['DepthwiseConv2D', 'depthwise_conv2d'],
  ['GlobalAveragePooling2D', 'global_average_pooling2d'], ['DropPath', 'drop_path'], ['StochasticResidual', 'stochastic_residual'],
  ['ReLU', 're_lu'], ['LayerScale', 'layer_scale'],
])('snakeCase(%s) is Keras\' %s', (cls, snake) => {
  expect(snakeCase(cls)).toBe(snake);
});

test('h5GroupNamer numbers each class within its container, as Keras names weight groups', () => {
  const name = h5GroupNamer('layers/sequential/');
  expect(['Conv2D', 'Dense', 'Conv2D', 'Conv2D', 'Dense'].map(name)).toEqual(['layers/sequential/layers/conv2d',
    'layers/sequential/layers/dense', 'layers/sequential/layers/conv2d_1', 'layers/sequential/layers/conv2d_2',
    'layers/sequential/layers/dense_1']);
});

test.each([
  [{module: 'keras.layers', registered_name: null}, 'Dense', null],
  [{}, 'Dense', null],
  [{module: 'my_project.layers', registered_name: 'my_project>Dense'}, 'Dense', /a custom layer named like Keras' Dense/],
  [{module: 'keras.layers', registered_name: 'Other'}, 'Dense', /a custom layer named like Keras' Dense/],
  [{module: 'keras.src.applications.convnext', registered_name: 'StochasticDepth'}, 'StochasticDepth', null],
  [{module: 'official.vision.modeling.layers.nn_layers', registered_name: 'Vision>StochasticDepth'}, 'StochasticDepth', null],
  [{module: 'my.layers', registered_name: 'StochasticDepth'}, 'StochasticDepth', /only StochasticDepth from keras\.src\.applications\.convnext/],
  [{module: 'tfjs_drop_path.layers', registered_name: 'tfjs_drop_path>DropPath'}, 'DropPath', null],
  [{module: 7}, 'Dense', /a module of 7/],
])('originProblem(%p, %s)', (fields, cls, expected) => {
  const problem = originProblem(fields as Record<string, unknown>, cls);
  if (expected === null) expect(problem).toBeNull();
  else expect(problem).toMatch(expected);
});

test('dropFields: the drop fields of both directions, defaults filled, a seed only when it is an integer', () => {
  expect(dropFields({rate: 0.2})).toEqual({rate: 0.2, mode: 'row', scale_by_keep: true});
  expect(dropFields({mode: 'batch', scale_by_keep: false, seed: 3}, 0.5)).toEqual({rate: 0.5, mode: 'batch', scale_by_keep: false, seed: 3});
  expect(dropFields({rate: 0.1, seed: 1.5})).toEqual({rate: 0.1, mode: 'row', scale_by_keep: true});
});

test('Refusals: every layer with its class and why, in one error', () => {
  const r = new Refusals();
  r.add('a', 'Lambda', 'Python code');
  r.add('b', 'LSTM', 'no tfjs layer');
  expect(r.error('load(m.keras)', 'cannot read').message).toBe(
      "load(m.keras): cannot read; 2 layers cannot:\n  'a' (Lambda): Python code\n  'b' (LSTM): no tfjs layer");
});

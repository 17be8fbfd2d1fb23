/**
 * Keras 3 `config.json` → a tfjs-layers model topology (the Keras 2 form
 * tfjs reads), plus the plan that maps `model.weights.h5` onto the tfjs
 * layers. Pure data work: no tfjs import. Everything the translation does not
 * know is collected and refused in one error that lists every offending
 * layer with its class — never a silently different model.
 */

import {dropFields, h5GroupNamer, isObject, originProblem, Refusals} from './format';
import {isNoiseShape} from '../layers/keras_dropout';
import type {Json} from './format';

/** Where one Keras layer's variables sit in `model.weights.h5`, and how they become the tfjs layer's weights. */
export interface WeightPlanEntry {
  /** The tfjs layer's name path: [outer model layer, …, layer] (nested containers included). */
  layerPath: string[];
  /** The HDF5 group holding `vars/0`, `vars/1`, … (e.g. `layers/sequential_1/layers/conv2d`). */
  h5Group: string;
  /** How the Keras variables become the tfjs weights. */
  transform: 'identity' | 'groupedToDepthwise' | 'rateVariable';
}

export interface TranslatedModel {
  /** The tfjs model topology (`{class_name, config}`), for `tf.models.modelFromJSON`. */
  topology: Json;
  weights: WeightPlanEntry[];
  /** Notes on what was translated (e.g. a grouped Conv2D read as DepthwiseConv2D). */
  notes: string[];
}

/** The Keras class names whose saved configs this translation turns into tfjs layers. */
const PLAIN_LAYERS = new Set([
  'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv1D', 'Conv2DTranspose', 'Dense', 'Activation', 'Dropout',
  'BatchNormalization', 'LayerNormalization', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'AveragePooling2D',
  'MaxPooling2D', 'ZeroPadding2D', 'Flatten', 'Reshape', 'Add', 'Multiply', 'Concatenate', 'Average', 'Maximum',
  'Minimum', 'Subtract', 'ReLU', 'LeakyReLU', 'Softmax', 'Rescaling', 'Permute', 'SpatialDropout1D', 'SpatialDropout2D',
  'SpatialDropout3D', 'UpSampling2D',
]);

/** Layers of the stochastic-depth family and their companions that this package provides. */
const PLUGIN_LAYERS = new Set(['Normalization', 'LayerScale', 'StochasticDepth', 'DropPath', 'StochasticResidual', 'FixedDropout']);

/** Keras activation names tfjs spells otherwise. */
const ACTIVATIONS: Record<string, string> = {silu: 'swish'};
const TFJS_ACTIVATIONS = new Set(['elu', 'hard_sigmoid', 'linear', 'relu', 'relu6', 'selu', 'sigmoid', 'softmax',
  'softplus', 'softsign', 'tanh', 'swish', 'mish', 'gelu', 'gelu_new', 'log_softmax']);

/** A Keras 3 serialized object ({module, class_name, config, registered_name}) → tfjs' {class_name, config}. */
function plainObject(value: unknown): unknown {
  if (!isObject(value) || typeof value.class_name !== 'string') return value;
  const config = isObject(value.config) ? {...value.config} : value.config;
  if (value.class_name === 'VarianceScaling' && isObject(config) && config.distribution === 'untruncated_normal') {
    config.distribution = 'normal'; // the initializer only matters for a re-initialization; loaded weights replace it
  }
  return {class_name: value.class_name, config};
}

/** The dtype of a layer config: a string, or a DTypePolicy object whose name must be a plain float32. */
function dtypeOf(value: unknown): string | null {
  if (value === undefined || value === null) return 'float32';
  if (typeof value === 'string') return value;
  if (isObject(value) && value.class_name === 'DTypePolicy' && isObject(value.config) && typeof value.config.name === 'string') {
    return value.config.name;
  }
  return null;
}

/** Keras tensors in a node's args, in order: [layer, node, tensor] each. */
function kerasTensors(value: unknown, out: [string, number, number][] = []): [string, number, number][] {
  if (Array.isArray(value)) value.forEach((v) => kerasTensors(v, out));
  else if (isObject(value) && value.class_name === '__keras_tensor__' && isObject(value.config)) {
    const h = value.config.keras_history;
    if (Array.isArray(h) && typeof h[0] === 'string') out.push([h[0], Number(h[1]), Number(h[2])]);
  }
  return out;
}

/** Whether args hold anything but Keras tensors (constants: an op with a number argument). */
function hasConstants(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasConstants);
  if (isObject(value)) return value.class_name !== '__keras_tensor__';
  return value !== null && value !== undefined;
}

/** SpatialDropout's mask: one draw per sample and channel (the channel axis kept, the spatial ones 1). */
const SPATIAL_RANK: Record<string, number> = {SpatialDropout1D: 1, SpatialDropout2D: 2, SpatialDropout3D: 3};

/**
 * A Keras Dropout or SpatialDropout as TF.js computes it: 'stock' where tfjs' own Dropout does what Keras does (no seed,
 * rate below 1, no spatial mask); otherwise a KerasDropout config (a fresh mask every call also when seeded, zeros at
 * rate 1, the spatial dropouts as their noise shape); null when refused.
 */
function kerasDropout(cls: string, src: Json, name: string, refusals: Refusals, notes: string[]): Json | 'stock' | null {
  const rate = src.rate;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    refusals.add(name, cls, `rate ${JSON.stringify(rate)}: expected a number in [0, 1]`);
    return null;
  }
  const seed = src.seed ?? null;
  if (seed !== null && !Number.isSafeInteger(seed)) {
    refusals.add(name, cls, `seed ${JSON.stringify(seed)}: expected an integer or null`);
    return null;
  }
  let noiseShape: unknown = src.noise_shape ?? null;
  const spatial = SPATIAL_RANK[cls];
  if (spatial !== undefined) {
    const first = spatial > 1 && src.data_format === 'channels_first';
    if (spatial > 1 && src.data_format !== 'channels_last' && !first && src.data_format !== undefined && src.data_format !== null) {
      refusals.add(name, cls, `data_format ${JSON.stringify(src.data_format)}: expected 'channels_last' or 'channels_first'`);
      return null;
    }
    const ones = new Array<number>(spatial).fill(1);
    noiseShape = first ? [null, null, ...ones] : [null, ...ones, null];
    notes.push(`'${name}': ${cls} read as KerasDropout with noise shape ${JSON.stringify(noiseShape)} (one draw per sample and ` +
      'channel; written back to Keras as a Dropout of that noise shape)');
  } else if (noiseShape !== null && !isNoiseShape(noiseShape)) {
    refusals.add(name, cls, `noise_shape ${JSON.stringify(noiseShape)}: expected a list of positive integers and None`);
    return null;
  } else if (seed === null && rate < 1) {
    return 'stock';
  } else {
    notes.push(`'${name}': Dropout ${seed !== null ? `with seed ${seed}` : 'at rate 1'} read as KerasDropout: ` +
      (seed !== null ? 'a new mask every training call, as in Keras (tfjs\' seeded Dropout repeats one mask)' :
        'zeros in training, as in Keras (tfjs\' Dropout passes its input through at rate 1)'));
  }
  return {name, trainable: src.trainable ?? true, dtype: 'float32', rate, noise_shape: noiseShape, ...(seed !== null ? {seed} : {})};
}

/** One layer config (Keras 3) → tfjs, or null after recording why it cannot be. */
function translateLayer(layer: Json, refusals: Refusals, notes: string[]): {cls: string; config: Json; transform: WeightPlanEntry['transform']} | null {
  const cls = String(layer.class_name);
  const module = typeof layer.module === 'string' ? layer.module : '';
  const src = isObject(layer.config) ? layer.config : {};
  const name = String(layer.name ?? src.name);
  const config: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (['dtype', 'shared_object_id'].includes(k)) continue;
    config[k] = plainObject(v);
  }
  config.name = name;
  const dtype = dtypeOf(src.dtype);
  if (dtype !== 'float32') {
    refusals.add(name, cls, `dtype policy ${JSON.stringify(dtype ?? src.dtype)}: only float32 models are read (mixed precision is not)`);
    return null;
  }
  config.dtype = 'float32';
  let outCls = cls;
  let transform: WeightPlanEntry['transform'] = 'identity';
  if (module.startsWith('keras.src.ops')) {
    // An op node (x + y written in the model code): only two-tensor element-wise ops have a tfjs layer.
    if (!['Add', 'Multiply', 'Subtract'].includes(cls)) {
      refusals.add(name, cls, `an op node (${module}) with no tfjs layer`);
      return null;
    }
    return {cls, config: {name, dtype: 'float32', trainable: true}, transform};
  }
  if (cls === 'InputLayer') {
    const shape = src.batch_shape ?? src.batch_input_shape;
    if (!Array.isArray(shape)) {
      refusals.add(name, cls, 'no batch_shape');
      return null;
    }
    if (src.sparse === true || src.ragged === true) refusals.add(name, cls, 'sparse or ragged inputs');
    return {cls, config: {name, batch_input_shape: shape, dtype: 'float32', sparse: false}, transform};
  }
  if (!PLAIN_LAYERS.has(cls) && !PLUGIN_LAYERS.has(cls)) {
    refusals.add(name, cls, cls === 'Lambda' ? 'a Lambda layer holds Python code, which is never run' :
      `no tfjs layer of this class${module ? ` (module ${module})` : ''}`);
    return null;
  }
  const origin = originProblem(layer, cls);
  if (origin) {
    refusals.add(name, cls, origin);
    return null;
  }
  delete config.lora_rank;
  delete config.lora_alpha;
  if (config.quantization_config !== undefined && config.quantization_config !== null) {
    refusals.add(name, cls, 'a quantized layer');
    return null;
  }
  delete config.quantization_config;
  if (typeof config.activation === 'string') {
    const act = ACTIVATIONS[config.activation] ?? config.activation;
    if (!TFJS_ACTIVATIONS.has(act)) {
      refusals.add(name, cls, `activation '${config.activation}' has no tfjs equivalent`);
      return null;
    }
    config.activation = act;
  }
  if (cls === 'Conv2D' && typeof src.groups === 'number' && src.groups !== 1) {
    const build = isObject(layer.build_config) ? layer.build_config.input_shape : undefined;
    const inChannels = Array.isArray(build) ? Number(build[build.length - 1]) : NaN;
    const filters = Number(src.filters);
    if (src.groups !== inChannels || filters % inChannels !== 0) {
      refusals.add(name, cls, `a grouped convolution with groups ${src.groups} over ${inChannels} input channels ` +
        '(only groups = input channels, a depthwise convolution, is read)');
      return null;
    }
    outCls = 'DepthwiseConv2D';
    for (const k of ['filters', 'groups', 'kernel_initializer', 'kernel_regularizer', 'kernel_constraint']) delete config[k];
    config.depth_multiplier = filters / inChannels;
    config.depthwise_initializer = plainObject(src.kernel_initializer);
    config.depthwise_regularizer = plainObject(src.kernel_regularizer);
    config.depthwise_constraint = plainObject(src.kernel_constraint);
    transform = 'groupedToDepthwise';
    notes.push(`'${name}': Conv2D with groups ${src.groups} read as DepthwiseConv2D (depth multiplier ${filters / inChannels})`);
  } else if (cls === 'Conv2D') {
    delete config.groups;
  }
  if (cls === 'Dropout' || cls.startsWith('SpatialDropout')) {
    const dropout = kerasDropout(cls, src, name, refusals, notes);
    if (dropout === null) return null;
    if (dropout !== 'stock') return {cls: 'KerasDropout', config: dropout, transform};
  }
  if (cls === 'StochasticDepth' && 'drop_path_rate' in src) {
    // keras.applications ConvNeXt's: one input, per sample, kept samples × 1/keep — this package's DropPath.
    notes.push(`'${name}': ConvNeXt StochasticDepth read as DropPath (rate ${String(src.drop_path_rate)}); at rate 1 it gives ` +
      'exact zeros where Keras\' gives NaN (0/0)');
    return {cls: 'DropPath', config: {name, trainable: src.trainable ?? true, dtype: 'float32', ...dropFields({}, src.drop_path_rate)},
      transform};
  }
  if (cls === 'StochasticDepth' && 'stochastic_depth_drop_rate' in src) {
    // TF Model Garden's Vision>StochasticDepth: one input, per sample, x / keep · floor(keep + u); a rate of None or 0
    // is the identity — this package's DropPath.
    const rate = src.stochastic_depth_drop_rate ?? 0;
    notes.push(`'${name}': Model Garden StochasticDepth read as DropPath (rate ${String(rate)}); at rate 1 it gives ` +
      'exact zeros where Model Garden\'s gives NaN (x / 0 · 0)');
    return {cls: 'DropPath', config: {name, trainable: src.trainable ?? true, dtype: 'float32', ...dropFields({}, rate)}, transform};
  }
  if (cls === 'StochasticDepth' && ('rate' in src || 'survival_probability' in src)) {
    // keras-cv / TensorFlow Addons: two inputs, one draw per batch, no rescaling (this package's StochasticDepth).
    const field = 'rate' in src ? 'rate' : 'survival_probability';
    return {cls, config: {name, trainable: src.trainable ?? true, dtype: 'float32', [field]: src[field]}, transform};
  }
  if (cls === 'DropPath' && ('rate' in src || 'drop_prob' in src)) {
    // keras-cv / keras-hub DropPath (rate, or drop_prob with scale_by_keep), or this package's own twin (rate, mode).
    const rate = 'drop_prob' in src ? src.drop_prob : src.rate;
    // This package's Python twin keeps its rate in a variable (saved as vars/0): checked against the config, not a weight.
    const twin = typeof layer.module === 'string' && layer.module.startsWith('tfjs_drop_path');
    return {cls, config: {name, trainable: src.trainable ?? true, dtype: 'float32', ...dropFields(src, rate)},
      transform: twin ? 'rateVariable' : transform};
  }
  if (cls === 'StochasticDepth' || cls === 'DropPath' || cls === 'StochasticResidual') {
    refusals.add(name, cls, `this form of ${cls} (config fields ${Object.keys(src).join(', ')}) is not read yet`);
    return null;
  }
  if (cls === 'LayerNormalization' && src.rms_scaling === true) {
    refusals.add(name, cls, 'rms_scaling (RMS normalization) has no tfjs layer');
    return null;
  }
  delete config.rms_scaling;
  if ((cls === 'GlobalAveragePooling2D' || cls === 'GlobalMaxPooling2D') && src.keepdims === true) {
    refusals.add(name, cls, 'keepdims: true has no tfjs equivalent');
    return null;
  }
  delete config.keepdims;
  if (cls === 'BatchNormalization') {
    if (src.renorm === true) refusals.add(name, cls, 'batch renormalization');
    for (const k of ['renorm', 'renorm_clipping', 'renorm_momentum', 'synchronized']) delete config[k];
  }
  return {cls: outCls, config, transform};
}

/**
 * Translates one container (Functional or Sequential) config, recursively.
 * `h5Prefix` is the container's group in model.weights.h5 ('' at the top).
 */
function translateContainer(container: Json, h5Prefix: string, layerPrefix: string[], refusals: Refusals, notes: string[],
    weights: WeightPlanEntry[]): Json | null {
  const cls = String(container.class_name);
  const cfg = isObject(container.config) ? container.config : {};
  const name = String(container.name ?? cfg.name);
  const layers = Array.isArray(cfg.layers) ? cfg.layers.filter(isObject) : [];
  const groupNamer = h5GroupNamer(h5Prefix);
  const h5Name = (layer: Json) => groupNamer(String(layer.class_name));
  // Nested containers of this scope: calls into them shift node indices by one.
  const containers = new Set<string>();
  const out: Json[] = [];
  let sequentialInput: unknown;
  for (const layer of layers) {
    const lcls = String(layer.class_name);
    const lname = String(layer.name ?? (isObject(layer.config) ? layer.config.name : ''));
    const isOp = typeof layer.module === 'string' && layer.module.startsWith('keras.src.ops');
    if (cls === 'Sequential' && lcls === 'InputLayer') {
      // A nested Sequential lists its own InputLayer; tfjs puts the shape on the first layer, and h5 does not count it.
      sequentialInput = isObject(layer.config) ? layer.config.batch_shape ?? layer.config.batch_input_shape : undefined;
      continue;
    }
    const group = isOp ? '' : h5Name(layer);
    let translated: Json;
    const twinResidual = lcls === 'StochasticResidual' && typeof layer.module === 'string' && layer.module.startsWith('tfjs_drop_path');
    if (twinResidual) {
      // This package's Python twin: branch and shortcut are nested models stored under the layer's group.
      const src = isObject(layer.config) ? layer.config : {};
      const branch = translateContainer(isObject(src.branch) ? src.branch : {}, `${group}/branch/`, [...layerPrefix, lname, '#branch'],
        refusals, notes, weights);
      const shortcut = isObject(src.shortcut) ?
        translateContainer(src.shortcut, `${group}/shortcut/`, [...layerPrefix, lname, '#shortcut'], refusals, notes, weights) : null;
      if (!branch || (isObject(src.shortcut) && !shortcut)) continue;
      translated = {class_name: 'StochasticResidual', config: {name: lname, trainable: src.trainable ?? true, dtype: 'float32',
        ...dropFields(src), strategy: src.strategy ?? 'skip', branch, shortcut}};
      weights.push({layerPath: [...layerPrefix, lname], h5Group: group, transform: 'rateVariable'});
    } else if (lcls === 'Functional' || lcls === 'Sequential' || lcls === 'Model') {
      const origin = originProblem(layer, lcls);
      if (origin) {
        refusals.add(lname, lcls, origin);
        continue;
      }
      const nested = translateContainer(layer, `${group}/`, [...layerPrefix, lname], refusals, notes, weights);
      if (!nested) continue;
      containers.add(lname);
      translated = nested;
    } else {
      const t = translateLayer(layer, refusals, notes);
      if (!t) continue;
      translated = {class_name: t.cls, config: t.config};
      if (!isOp && lcls !== 'InputLayer') weights.push({layerPath: [...layerPrefix, lname], h5Group: group, transform: t.transform});
    }
    translated.name = lname;
    if (cls !== 'Sequential') {
      const nodes = Array.isArray(layer.inbound_nodes) ? layer.inbound_nodes : [];
      const tfNodes: unknown[] = [];
      for (const node of nodes) {
        if (!isObject(node)) continue;
        if (hasConstants(node.args)) {
          refusals.add(lname, lcls, 'called with constant (non-tensor) arguments');
          continue;
        }
        const kwargs = isObject(node.kwargs) ? node.kwargs : {};
        // Keras 3 records the training flag a layer was called with while the graph was built (False on every
        // Dropout of a graph built outside training), and fit, predict and evaluate override it with their own: the
        // flag in the file does not pin the layer's mode. TF.js passes the same flags, so it is not read.
        if (kwargs.training === true) {
          notes.push(`'${lname}': called with training=True in the Keras graph; as in Keras' fit, predict and evaluate, ` +
            'the mode comes from the call (a direct model.apply outside training does not drop)');
        }
        // An explicit mask changes what a masking layer computes; TF.js would drop it, so it is refused (a null one is Keras' default).
        const extra = Object.keys(kwargs).filter((k) => k !== 'training' && kwargs[k] !== null && kwargs[k] !== undefined);
        if (extra.length) refusals.add(lname, lcls, `called with keyword arguments ${extra.join(', ')}`);
        tfNodes.push(kerasTensors(node.args).map(([l, n, t]) => [l, containers.has(l) ? n + 1 : n, t, {}]));
      }
      translated.inbound_nodes = tfNodes;
    }
    out.push(translated);
  }
  if (cls === 'Sequential') {
    const first = out[0];
    if (first && sequentialInput !== undefined && isObject(first.config)) first.config.batch_input_shape = sequentialInput;
    return {class_name: 'Sequential', config: {name, layers: out}, name};
  }
  if (cls !== 'Functional' && cls !== 'Model') {
    refusals.add(name, cls, 'a model class other than Functional or Sequential (a subclassed model holds Python code)');
    return null;
  }
  const ends = (v: unknown) => {
    const list = Array.isArray(v) && typeof v[0] === 'string' ? [v] : Array.isArray(v) ? v : [];
    return list.map((e) => [String(e[0]), Number(e[1]), Number(e[2])]);
  };
  return {class_name: 'Model', name, config: {name, layers: out, input_layers: ends(cfg.input_layers), output_layers: ends(cfg.output_layers)}};
}

/**
 * Translates a Keras 3 `config.json`. Throws one error listing every layer
 * that cannot be read, with its class and why.
 */
export function translateKerasConfig(config: Json, where: string): TranslatedModel {
  const refusals = new Refusals();
  const notes: string[] = [];
  const weights: WeightPlanEntry[] = [];
  const cls = String(config.class_name);
  if (cls !== 'Functional' && cls !== 'Sequential' && cls !== 'Model') {
    throw new Error(`${where}: config.json describes a '${cls}', not a Functional or Sequential model ` +
      '(subclassed models hold Python code and cannot be read).');
  }
  const origin = originProblem(config, cls);
  if (origin) throw new Error(`${where}: config.json describes ${origin}.`);
  const topology = translateContainer(config, '', [], refusals, notes, weights);
  if (refusals.items.length || !topology) throw refusals.error(where, 'the model cannot be read into TF.js without changing it');
  return {topology, weights, notes};
}

/**
 * A tfjs-layers model (its `toJSON` topology, the Keras 2 form) → a Keras 3
 * `config.json` and the datasets of `model.weights.h5`, laid out where
 * Keras 3's loader looks for them (`layers/<snake_case class>[_n]/vars/<i>`,
 * nested `branch/` and `shortcut/` for StochasticResidual). Pure data work:
 * the live model is reached through {@link ExportSource}. Every layer,
 * field, initializer or activation Keras would read differently is
 * collected and refused in one error — never a silently different model.
 */
import type {H5WriteDataset} from './h5';
import {dropFields, h5GroupNamer, isObject, Refusals} from './format';

type Json = Record<string, unknown>;

/** What the exporter needs from the live model, per layer (by name path; '#branch' / '#shortcut' step into a StochasticResidual). */
export interface ExportSource {
  /** The output shapes of the layer (one per output tensor). */
  outputShapes(path: string[]): (number | null)[][];
  /** The layer's weights in tfjs order, as float32 values. */
  weights(path: string[]): {shape: number[]; data: Float32Array}[];
}

export interface ExportedModel {
  config: Json;
  datasets: H5WriteDataset[];
  /** [group path, layer name]: Keras puts the layer's name on each `vars` group. */
  groups: [string, string][];
}


/** Fields every layer config may carry and that are written by the exporter itself. */
const COMMON = ['name', 'trainable', 'dtype', 'batch_input_shape', 'batch_size', 'input_dtype'];
const CONV = ['kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'activation', 'use_bias',
  'bias_initializer', 'bias_regularizer', 'bias_constraint', 'activity_regularizer'];
const KERNEL = ['filters', 'kernel_initializer', 'kernel_regularizer', 'kernel_constraint'];
const DEPTHWISE = ['depth_multiplier', 'depthwise_initializer', 'depthwise_regularizer', 'depthwise_constraint'];
const POOL = ['pool_size', 'strides', 'padding', 'data_format'];

/** The tfjs classes written as Keras built-ins, with the config fields that carry over unchanged. */
const KERAS_LAYERS: Record<string, string[]> = {
  Conv2D: [...CONV, ...KERNEL],
  DepthwiseConv2D: [...CONV, ...DEPTHWISE],
  SeparableConv2D: [...CONV, 'filters', ...DEPTHWISE, 'pointwise_initializer', 'pointwise_regularizer', 'pointwise_constraint'],
  Dense: ['units', 'activation', 'use_bias', 'kernel_initializer', 'bias_initializer', 'kernel_regularizer', 'bias_regularizer',
    'activity_regularizer', 'kernel_constraint', 'bias_constraint'],
  BatchNormalization: ['axis', 'momentum', 'epsilon', 'center', 'scale', 'beta_initializer', 'gamma_initializer',
    'moving_mean_initializer', 'moving_variance_initializer', 'beta_regularizer', 'gamma_regularizer', 'beta_constraint',
    'gamma_constraint'],
  LayerNormalization: ['axis', 'epsilon', 'center', 'scale', 'beta_initializer', 'gamma_initializer', 'beta_regularizer',
    'gamma_regularizer'],
  Activation: ['activation'],
  ReLU: ['max_value'],
  Softmax: ['axis'],
  Add: [], Multiply: [], Average: [], Maximum: [], Minimum: [], Concatenate: ['axis'],
  GlobalAveragePooling2D: ['data_format'],
  GlobalMaxPooling2D: ['data_format'],
  AveragePooling2D: POOL,
  MaxPooling2D: POOL,
  ZeroPadding2D: ['padding', 'data_format'],
  Flatten: ['data_format'],
  Reshape: ['target_shape'],
  Dropout: ['rate', 'noise_shape', 'seed'],
  Rescaling: ['scale', 'offset'],
};
const MERGE = new Set(['Add', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate']);

/** tfjs activation names and their Keras 3 spelling: only those that compute the same function. */
const ACTIVATIONS: Record<string, string> = {linear: 'linear', relu: 'relu', relu6: 'relu6', sigmoid: 'sigmoid',
  softmax: 'softmax', tanh: 'tanh', elu: 'elu', selu: 'selu', softplus: 'softplus', softsign: 'softsign', swish: 'silu',
  mish: 'mish', gelu: 'gelu', log_softmax: 'log_softmax'};

/** tfjs initializer classes → Keras 3 ones, with the config fields Keras takes. */
const INITIALIZERS: Record<string, [string, string[]]> = {
  Zeros: ['Zeros', []], Ones: ['Ones', []], Constant: ['Constant', ['value']],
  GlorotUniform: ['GlorotUniform', ['seed']], GlorotNormal: ['GlorotNormal', ['seed']], HeNormal: ['HeNormal', ['seed']],
  HeUniform: ['HeUniform', ['seed']], LeCunNormal: ['LecunNormal', ['seed']], LeCunUniform: ['LecunUniform', ['seed']],
  RandomNormal: ['RandomNormal', ['mean', 'stddev', 'seed']], RandomUniform: ['RandomUniform', ['minval', 'maxval', 'seed']],
  TruncatedNormal: ['TruncatedNormal', ['mean', 'stddev', 'seed']], Orthogonal: ['Orthogonal', ['gain', 'seed']],
  Identity: ['Identity', ['gain']], VarianceScaling: ['VarianceScaling', ['scale', 'mode', 'distribution', 'seed']],
};
type Kind = 'initializer' | 'regularizer' | 'constraint';
/** Per kind: tfjs class → [Keras 3 class, the config fields Keras takes]. */
const SERIALIZABLES: Record<Kind, Record<string, [string, string[]]>> = {
  initializer: INITIALIZERS,
  regularizer: {L1L2: ['L1L2', ['l1', 'l2']]},
  constraint: {MaxNorm: ['MaxNorm', ['max_value', 'axis']], NonNeg: ['NonNeg', []], UnitNorm: ['UnitNorm', ['axis']],
    MinMaxNorm: ['MinMaxNorm', ['min_value', 'max_value', 'rate', 'axis']]},
};

/** A JS-safe integer seed in 31 bits: (seed XOR (seed >> 32)) AND 0x7FFFFFFF, as tfjs_drop_path's `_seed32`. */
export function seed32(seed: number): number {
  const high = Math.floor(seed / 2 ** 32);
  return Number((BigInt(Math.trunc(seed)) ^ BigInt(high)) & 0x7FFFFFFFn);
}

const kerasObject = (module: string, className: string, config: Json, registered: string | null = null): Json =>
  ({module, class_name: className, config, registered_name: registered});

/** An initializer / regularizer / constraint config in its Keras 3 form, or a reason it has none. */
function kerasSerializable(value: unknown, kind: Kind): Json | null | string {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || typeof value.class_name !== 'string') return `${kind} ${JSON.stringify(value)} is not a serialized object`;
  const cfg = isObject(value.config) ? value.config : {};
  const known = SERIALIZABLES[kind][value.class_name];
  if (!known) return `${kind} ${value.class_name} has no Keras counterpart here`;
  const [name, fields] = known;
  const config: Json = {};
  for (const f of fields) if (f in cfg) config[f] = cfg[f];
  if (name === 'VarianceScaling' && config.distribution === 'normal') config.distribution = 'untruncated_normal';
  // TF.js seeds have up to 53 bits; Keras' backends take 32-bit ones (the mapping the Python twin applies to its seeds).
  if (typeof config.seed === 'number') config.seed = seed32(config.seed);
  return kerasObject(`keras.${kind}s`, name, config);
}

/** The Keras 3 config of one plain layer (a Keras built-in), or null with refusals recorded. */
function kerasLayerConfig(cls: string, src: Json, name: string, refusals: Refusals): Json | null {
  const fields = KERAS_LAYERS[cls] as string[];
  const config: Json = {name, trainable: src.trainable ?? true, dtype: 'float32'};
  let ok = true;
  const extra = Object.keys(src).filter((k) => !fields.includes(k) && !COMMON.includes(k) && src[k] !== null && src[k] !== undefined);
  if (extra.length) {
    refusals.add(name, cls, `config field${extra.length === 1 ? '' : 's'} ${extra.join(', ')} ${extra.length === 1 ? 'has' : 'have'} no Keras 3 counterpart`);
    ok = false;
  }
  if (src.dtype !== undefined && src.dtype !== null && src.dtype !== 'float32') {
    refusals.add(name, cls, `dtype ${JSON.stringify(src.dtype)}: only float32 models are written`);
    ok = false;
  }
  for (const f of fields) {
    if (!(f in src)) continue;
    const v = src[f];
    const kind = /_(initializer|regularizer|constraint)$/.exec(f)?.[1] as Kind | undefined;
    if (kind) {
      const k = kerasSerializable(v, kind);
      if (typeof k === 'string') {
        refusals.add(name, cls, `${f}: ${k}`);
        ok = false;
      } else {
        config[f] = k;
      }
    } else if (f === 'activation') {
      const a = ACTIVATIONS[String(v)];
      if (!a) {
        refusals.add(name, cls, `activation '${String(v)}' is computed differently in Keras or is not there`);
        ok = false;
      } else {
        config[f] = a;
      }
    } else if (f === 'seed' && typeof v === 'number') {
      config[f] = seed32(v); // Keras' backends take 32-bit seeds, as for the initializers
    } else {
      config[f] = v;
    }
  }
  if (cls === 'Conv2D') config.groups = 1;
  return ok ? config : null;
}

interface Scope {
  refusals: Refusals;
  source: ExportSource;
  datasets: H5WriteDataset[];
  groups: [string, string][];
}

/** Writes `weights` (the live layer's, by default) as `<group>/vars/<i>`; those at `int64` indices as int64. */
function writeWeights(scope: Scope, path: string[], group: string, name: string,
    weights = scope.source.weights(path), int64: number[] = []): void {
  if (!weights.length) return;
  scope.groups.push([`${group}/vars`, name]);
  weights.forEach((w, i) => scope.datasets.push(int64.includes(i) ?
    {path: `${group}/vars/${i}`, shape: w.shape, dtype: '<q', data: Array.from(w.data)} :
    {path: `${group}/vars/${i}`, shape: w.shape, dtype: '<f', data: w.data}));
}

/** The Keras 3 form of one tfjs layer entry (without nodes), writing its weights; null when refused. */
function exportLayer(layer: Json, path: string[], group: string, scope: Scope): Json | null {
  const cls = String(layer.class_name);
  const src = isObject(layer.config) ? layer.config : {};
  const name = String(layer.name ?? src.name);
  const {refusals} = scope;
  const common = {name, trainable: src.trainable ?? true, dtype: 'float32'};
  const drop = dropFields(src); // DropPath's and StochasticResidual's; the twin keeps the rate in a variable too
  const writeRate = () => writeWeights(scope, path, group, name, [{shape: [], data: new Float32Array([Number(src.rate)])}]);
  if (cls === 'Model' || cls === 'Functional' || cls === 'Sequential') {
    // A model nested as a layer (ConvNeXt's stem and downsampling blocks): its layers under its own group.
    return exportContainer(layer, path, `${group}/`, scope);
  }
  if (cls === 'InputLayer') {
    return kerasObject('keras.layers', 'InputLayer', {batch_shape: src.batch_input_shape ?? src.batch_shape,
      dtype: src.dtype ?? 'float32', sparse: false, ragged: false, name});
  }
  if (cls === 'DropPath') {
    writeRate();
    return kerasObject('tfjs_drop_path.layers', 'DropPath', {...common, ...drop}, 'tfjs_drop_path>DropPath');
  }
  if (cls === 'StochasticResidual') {
    writeRate();
    const branch = exportContainer(src.branch, [...path, '#branch'], `${group}/branch/`, scope);
    const shortcut = isObject(src.shortcut) ? exportContainer(src.shortcut, [...path, '#shortcut'], `${group}/shortcut/`, scope) : null;
    if (!branch || (isObject(src.shortcut) && !shortcut)) return null;
    return kerasObject('tfjs_drop_path.layers', 'StochasticResidual', {...common, ...drop, strategy: src.strategy ?? 'skip',
      branch, shortcut}, 'tfjs_drop_path>StochasticResidual');
  }
  if (cls === 'StochasticDepth' && 'drop_path_rate' in src) {
    // keras.applications ConvNeXt's layer (per sample, scaled): the same class, read by Keras from its module.
    return kerasObject('keras.src.applications.convnext', 'StochasticDepth', {...common, drop_path_rate: src.drop_path_rate},
      'StochasticDepth');
  }
  if (cls === 'LayerScale') {
    writeWeights(scope, path, group, name);
    return kerasObject('keras.src.applications.convnext', 'LayerScale', {...common, init_values: src.init_values,
      projection_dim: src.projection_dim}, 'LayerScale');
  }
  if (cls === 'Normalization') {
    const fixed = src.mean !== null && src.mean !== undefined;
    // Keras keeps mean, variance and the int64 sample count as variables when the config gives no values.
    if (!fixed) writeWeights(scope, path, group, name, undefined, [2]);
    return kerasObject('keras.layers', 'Normalization', {...common, axis: src.axis, invert: false,
      mean: fixed ? src.mean : null, variance: fixed ? src.variance : null});
  }
  if (cls === 'LeakyReLU') {
    return kerasObject('keras.layers', 'LeakyReLU', {...common, negative_slope: src.alpha ?? 0.3});
  }
  if (cls === 'KerasDropout' || cls === 'FixedDropout') {
    // Keras' own Dropout computes what these do (a fresh mask every call, zeros at rate 1, the noise shape's Nones filled).
    const config = kerasLayerConfig('Dropout', src, name, refusals);
    return config ? kerasObject('keras.layers', 'Dropout', config) : null;
  }
  if (cls in KERAS_LAYERS) {
    const config = kerasLayerConfig(cls, src, name, refusals);
    if (!config) return null;
    writeWeights(scope, path, group, name);
    return kerasObject('keras.layers', cls, config);
  }
  if (cls === 'StochasticDepth') {
    refusals.add(name, cls, 'the two-input StochasticDepth of keras-cv / TensorFlow Addons has no Keras 3 class to write it as');
  } else {
    refusals.add(name, cls, 'no Keras 3 layer is known to compute the same function');
  }
  return null;
}

const keyOf = (e: unknown[]) => [String(e[0]), Number(e[1]), Number(e[2])];

/** One tfjs container config (`{class_name, config}`) → its Keras 3 serialized form; `h5Prefix` is its group ('' at the top). */
function exportContainer(container: unknown, path: string[], h5Prefix: string, scope: Scope): Json | null {
  if (!isObject(container) || !isObject(container.config)) {
    scope.refusals.add(path.join('/') || '(model)', 'Model', 'its config is not a {class_name, config} object');
    return null;
  }
  const cls = String(container.class_name);
  const cfg = container.config;
  const modelName = String(cfg.name ?? container.name ?? 'model');
  if (modelName.includes('/')) {
    scope.refusals.add(modelName, cls, "its name contains '/', which Keras 3 refuses in a model name: rename the model");
  }
  const layers = (Array.isArray(cfg.layers) ? cfg.layers : []).filter(isObject);
  const sequential = cls === 'Sequential';
  const groupOf = h5GroupNamer(h5Prefix);
  const out: Json[] = [];
  const shapeOf = (layerName: string, tensor: number) => scope.source.outputShapes([...path, layerName])[tensor] ?? null;
  if (sequential) {
    const first = layers[0];
    const shape = isObject(first) && isObject(first.config) ? first.config.batch_input_shape : undefined;
    if (!Array.isArray(shape)) {
      scope.refusals.add(modelName, 'Sequential', 'its first layer gives no batch_input_shape (an unbuilt Sequential)');
      return null;
    }
    out.push(kerasObject('keras.layers', 'InputLayer', {batch_shape: shape, dtype: 'float32', sparse: false, ragged: false,
      name: `${modelName}_input`}));
  }
  // Models nested as layers: tfjs counts their construction as node 0 and the call in this graph as node 1, Keras 3
  // counts that call as node 0.
  const containers = new Set<string>();
  for (const layer of layers) {
    const lname = String(layer.name ?? (isObject(layer.config) ? layer.config.name : ''));
    const lcls = String(layer.class_name);
    if (lcls === 'Model' || lcls === 'Functional' || lcls === 'Sequential') containers.add(lname);
    // Every class is written under its own name, so Keras' group is its snake_case; a tfjs 'Model' is written as
    // Keras' Functional, whose group is 'functional'.
    const group = groupOf(lcls === 'Model' ? 'Functional' : lcls);
    if (lname.includes('/')) {
      // Keras 3's Layer refuses such a name when the file is loaded ("cannot contain character `/`").
      scope.refusals.add(lname, lcls, "its name contains '/', which Keras 3 refuses in a layer name: rename the layer");
      continue;
    }
    const nodes = Array.isArray(layer.inbound_nodes) ? layer.inbound_nodes : [];
    if (!sequential && nodes.length > 1) {
      scope.refusals.add(lname, lcls, `called ${nodes.length} times (a shared layer); only layers called once are written`);
      continue;
    }
    const entry = exportLayer(layer, [...path, lname], group, scope);
    if (!entry) continue;
    entry.name = lname;
    if (!sequential) {
      entry.inbound_nodes = nodes.map((node) => {
        const inputs = (Array.isArray(node) ? node : []).filter(Array.isArray) as unknown[][];
        const kwargs = inputs.map((e) => e[3]).filter((k) => isObject(k) && Object.keys(k).length > 0);
        if (kwargs.length) scope.refusals.add(lname, lcls, `called with keyword arguments ${JSON.stringify(kwargs[0])}`);
        const tensors = inputs.map((e) => {
          const [l, n, t] = keyOf(e) as [string, number, number];
          const node = containers.has(l) ? n - 1 : n;
          return {class_name: '__keras_tensor__', config: {shape: shapeOf(l, t), dtype: 'float32', keras_history: [l, node, t]}};
        });
        return {args: MERGE.has(lcls) || tensors.length > 1 ? [tensors] : tensors, kwargs: {}};
      });
    }
    out.push(entry);
  }
  if (sequential) {
    return {module: 'keras', class_name: 'Sequential', config: {name: modelName, trainable: true, dtype: 'float32', layers: out},
      registered_name: null};
  }
  if (cls !== 'Model' && cls !== 'Functional') {
    scope.refusals.add(modelName, cls, 'a model class other than a functional Model or a Sequential');
    return null;
  }
  const ends = (v: unknown) => {
    const list = (Array.isArray(v) ? v : []).filter(Array.isArray).map((e) => keyOf(e as unknown[]));
    return list.length === 1 ? list[0] : list;
  };
  return {module: 'keras.src.models.functional', class_name: 'Functional', config: {name: modelName, trainable: true,
    layers: out, input_layers: ends(cfg.input_layers), output_layers: ends(cfg.output_layers)}, registered_name: 'Functional'};
}

/**
 * Translates a tfjs model topology (`model.toJSON(null, false)`'s object)
 * into Keras 3's config.json and model.weights.h5 content. Throws one error
 * listing every layer Keras would not read as the same function.
 */
export function exportKerasModel(topology: unknown, source: ExportSource, where: string): ExportedModel {
  const scope: Scope = {refusals: new Refusals(), source, datasets: [], groups: []};
  const config = exportContainer(topology, [], '', scope);
  if (scope.refusals.items.length || !config) {
    throw scope.refusals.error(where, 'the model cannot be written as a Keras 3 model that computes the same');
  }
  return {config, datasets: scope.datasets, groups: scope.groups};
}

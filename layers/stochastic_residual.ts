import {add, clone, customGrad, gather, mul, reshape, scatterND, serialization, tensor, tensor2d, tidy} from '@tensorflow/tfjs-core';
import type {GradSaveFunc, Scalar, Tensor} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import type {LayerVariable, Shape} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs, RegularizerFn} from '@tensorflow/tfjs-layers/dist/types';

import {RateOverride} from '../src/internal/rate_override';
import {maskRows} from '../src/ops/drop_path';
import {SeedStream, keepDecisions} from '../src/internal/seed_stream';
import {exactlyOne, isTraining} from '../src/internal/tensors';
import {checkBoolean, checkInput, checkMode, checkRate, checkSeed, describe} from '../src/internal/validate';
import type {DropMode} from '../src/internal/validate';

type Layer = InstanceType<typeof layers.Layer>;

/** How a drop is carried out. */
export type DropStrategy = 'skip' | 'mask';
const STRATEGIES: readonly DropStrategy[] = ['skip', 'mask'];

/** Arguments of {@link StochasticResidual}. */
export interface StochasticResidualArgs extends LayerArgs {
  /** The residual branch: any layer, or a whole tf.sequential / tf.model. */
  branch: Layer;
  /** Probability of dropping the branch, per sample ('row') or per call ('batch'). Writable later. */
  rate: number;
  /** Default 'row'. */
  mode?: DropMode;
  /**
   * 'skip' (default): the branch runs only on the kept samples ('row') or
   * not at all on a call that drops ('batch'). 'mask': the branch runs on the
   * whole batch and is multiplied by the mask (the classic computation).
   */
  strategy?: DropStrategy;
  /** The shortcut path; default the identity. A layer (e.g. a 1×1 conv projection) when shapes change. */
  shortcut?: Layer | null;
  /** Scale kept branches by 1/(1 − rate). Default true. */
  scaleByKeep?: boolean;
  /** Seed of the drop decisions: the same seed gives the same decisions in 'skip' and 'mask'. */
  seed?: number;
}

/** Every layer name under `layer` (itself, and the layers of a nested model). */
function layerNames(layer: Layer): string[] {
  const inner = (layer as {layers?: Layer[]}).layers;
  return [layer.name, ...(Array.isArray(inner) ? inner.flatMap(layerNames) : [])];
}

/**
 * `shortcut + scatter(indices, branchRows · scale)` with a hand-written
 * gradient: the gradient of the shortcut is dy, that of the branch rows is
 * gather(dy, rows) · scale. tf.scatterND has no gradient of its own; this is
 * also fewer full-size ops than a gather/concat merge.
 */
function mergeRows(shortcut: Tensor, branchRows: Tensor, indices: Tensor, scale: number): Tensor {
  const merge = customGrad(((s: Tensor, b: Tensor, save: GradSaveFunc) => {
    save([indices]);
    const scaled = scale === 1 ? b : mul(b, scale);
    return {
      value: add(s, scatterND(indices, scaled, s.shape)),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const g = gather(dy, reshape(saved[0] as Tensor, [-1]));
        return [dy, scale === 1 ? g : mul(g, scale)];
      },
    };
  }) as unknown as Parameters<typeof customGrad>[0]);
  return (merge as unknown as (s: Tensor, b: Tensor) => Tensor)(shortcut, branchRows);
}

/**
 * `x[indices]` with a hand-written gradient: scatterND(indices, dy) into x's shape,
 * one op, where tf.gather's own gradient (unsortedSegmentSum with reshapes
 * and transposes) costs several full-size ops.
 */
function gatherRows(x: Tensor, indices: Tensor): Tensor {
  const take = customGrad(((t: Tensor, save: GradSaveFunc) => {
    save([indices]);
    return {
      value: gather(t, reshape(indices, [-1])),
      gradFunc: (dy: Tensor, saved: Tensor[]) => scatterND(saved[0] as Tensor, dy, t.shape),
    };
  }) as unknown as Parameters<typeof customGrad>[0]);
  return (take as unknown as (t: Tensor) => Tensor)(x);
}

/**
 * A residual block with stochastic depth that does not compute what it drops:
 * `out = shortcut(x) + dropPath(branch(x))`.
 *
 * With `strategy: 'skip'` (the default) and `mode: 'row'`, the branch runs on
 * the kept samples only and its output is added back into their rows: forward
 * and backward work both shrink by the drop rate. With `mode: 'batch'`, a call
 * that drops does not run the branch at all. `strategy: 'mask'` computes the
 * whole branch and multiplies by the mask, as other libraries do.
 *
 * Outside training: `shortcut(x) + branch(x)`. rate 1: `shortcut(x)` (the
 * branch is not run). Kept samples are scaled by 1/(1 − rate).
 *
 * Note: batch-statistics layers in the branch (BatchNormalization) see only
 * the kept samples under 'skip', and the whole batch under 'mask'.
 *
 * Huang et al. 2016, https://arxiv.org/abs/1603.09382.
 *
 * @example
 * const branch = tf.sequential({layers: [
 *   tf.layers.dense({units: 16, activation: 'relu', inputShape: [16]}),
 *   tf.layers.dense({units: 16})]});
 * const block = dp.layers.stochasticResidual({branch, rate: 0.2});
 * const y = block.apply(tf.input({shape: [16]}));
 */
export class StochasticResidual extends layers.Layer {
  /** Kept literal: minifiers rename classes. */
  static className = 'StochasticResidual';

  readonly branch: Layer;
  readonly shortcut: Layer | null;
  readonly mode: DropMode;
  readonly strategy: DropStrategy;
  readonly scaleByKeep: boolean;
  readonly seed: number | undefined;
  private currentRate: number;
  private readonly stream: SeedStream;
  /** A DropPathScheduler's temporary rate, kept apart from `rate` (not saved; lapses when its fit ends). */
  readonly rateOverride = new RateOverride();

  constructor(args: StochasticResidualArgs) {
    if (args === null || typeof args !== 'object') {
      throw new Error(`StochasticResidual: args must be an object with a branch and a rate, but received ${describe(args)}.`);
    }
    super(args);
    const isLayer = (l: unknown) => l instanceof layers.Layer;
    if (!isLayer(args.branch)) {
      throw new Error(`StochasticResidual: branch must be a tf.layers.Layer or a LayersModel, but received ${describe(args.branch)}.`);
    }
    if (args.shortcut != null && !isLayer(args.shortcut)) {
      throw new Error(`StochasticResidual: shortcut must be a tf.layers.Layer, a LayersModel or null (identity), ` +
        `but received ${describe(args.shortcut)}.`);
    }
    this.branch = args.branch;
    this.shortcut = args.shortcut ?? null;
    this.currentRate = checkRate(args.rate, 'StochasticResidual: rate');
    this.mode = checkMode(args.mode ?? 'row', 'StochasticResidual: mode');
    const strategy = args.strategy ?? 'skip';
    if (!STRATEGIES.includes(strategy)) {
      throw new Error(`StochasticResidual: strategy must be one of 'skip', 'mask', but received ${describe(strategy)}.`);
    }
    this.strategy = strategy;
    this.scaleByKeep = checkBoolean(args.scaleByKeep ?? true, 'StochasticResidual: scaleByKeep');
    this.seed = checkSeed(args.seed, 'StochasticResidual: seed');
    this.stream = new SeedStream(this.seed);
    // Weights are saved by name: two sub-layers with one name save, then fail to load.
    const names = [...layerNames(this.branch), ...(this.shortcut ? layerNames(this.shortcut) : [])];
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) {
      throw new Error(`StochasticResidual: the branch and shortcut must have distinct layer names (their weights ` +
        `are saved by name), but '${dup}' appears twice.`);
    }
  }

  /** The drop probability; setting it takes effect on the next call. */
  get rate(): number {
    return this.currentRate;
  }

  set rate(rate: number) {
    this.currentRate = checkRate(rate, `StochasticResidual '${this.name}': rate`);
  }

  /**
   * The rate the next training call uses: a running DropPathScheduler's value
   * while its fit lasts, otherwise `rate`.
   */
  get activeRate(): number {
    return this.rateOverride.get() ?? this.currentRate;
  }

  private children(): Layer[] {
    // Called by the base constructor before the children are set.
    return [this.branch, this.shortcut].filter((l): l is Layer => l != null);
  }

  override get trainable(): boolean {
    return this.branch != null ? this.branch.trainable : true;
  }

  override set trainable(value: boolean) {
    for (const child of this.children()) child.trainable = value;
  }

  /**
   * The children's regularization losses, as tfjs-layers' own Wrapper forwards
   * them. A weight regularizer counts on every step, also on a step that drops
   * the branch: the weights exist whether or not a sample used them.
   * (tfjs-layers 4.22 refuses activity regularizers at layer invocation, so
   * there are none to count.)
   */
  override get losses(): RegularizerFn[] {
    return [...super.losses, ...this.children().flatMap((c) => c.losses)];
  }

  override calculateLosses(): Scalar[] {
    // Not super.calculateLosses(): it maps this.losses, which already holds the children's.
    return [...super.losses.map((loss) => loss()), ...this.children().flatMap((c) => c.calculateLosses())];
  }

  override get updates(): Tensor[] {
    return [...super.updates, ...this.children().flatMap((c) => c.updates)];
  }

  override get trainableWeights(): LayerVariable[] {
    return this.children().flatMap((c) => c.trainableWeights);
  }

  override get nonTrainableWeights(): LayerVariable[] {
    return this.children().flatMap((c) => c.nonTrainableWeights);
  }

  override getWeights(): Tensor[] {
    return this.children().flatMap((c) => c.getWeights());
  }

  override setWeights(weights: Tensor[]): void {
    let offset = 0;
    for (const child of this.children()) {
      const n = child.weights.length;
      child.setWeights(weights.slice(offset, offset + n));
      offset += n;
    }
    if (offset !== weights.length) {
      throw new Error(`StochasticResidual '${this.name}': setWeights expected ${offset} tensors, but received ${weights.length}.`);
    }
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    for (const child of this.children()) {
      if (!child.built) {
        child.build(shape);
        child.built = true;
      }
    }
    const branchOut = this.branch.computeOutputShape(shape) as Shape;
    const shortcutOut = (this.shortcut ? this.shortcut.computeOutputShape(shape) : shape) as Shape;
    if (JSON.stringify(branchOut.slice(1)) !== JSON.stringify(shortcutOut.slice(1))) {
      throw new Error(`StochasticResidual '${this.name}': the branch output shape ${JSON.stringify(branchOut)} must ` +
        `equal the shortcut output shape ${JSON.stringify(shortcutOut)}` +
        (this.shortcut ? '.' : ' (the identity): pass a projection as `shortcut`.'));
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return this.branch.computeOutputShape(inputShape);
  }

  override setFastWeightInitDuringBuild(value: boolean): void {
    super.setFastWeightInitDuringBuild(value);
    for (const child of this.children()) child.setFastWeightInitDuringBuild(value);
  }

  private runBranch(x: Tensor, kwargs: Kwargs): Tensor {
    return exactlyOne(this.branch.apply(x, kwargs) as Tensor | Tensor[], `StochasticResidual '${this.name}': branch`);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `StochasticResidual '${this.name}'`;
      const x = checkInput(exactlyOne(inputs, where), `${where}: input`);
      const rate = checkRate(this.activeRate, `${where}: rate`);
      const shortcut = this.shortcut ?
        exactlyOne(this.shortcut.apply(x, kwargs) as Tensor | Tensor[], `${where}: shortcut`) : x;
      if (!isTraining(kwargs) || rate === 0) return add(shortcut, this.runBranch(x, kwargs));
      if (rate === 1) return clone(shortcut);
      const scale = this.scaleByKeep ? 1 / (1 - rate) : 1;
      const batch = x.shape[0] as number;
      const keep = keepDecisions(this.stream, this.mode === 'batch' ? 1 : batch, rate);
      if (this.strategy === 'mask') {
        const y = this.runBranch(x, kwargs);
        const maskShape = y.shape.map((_, i) => (i === 0 ? keep.length : 1));
        return add(shortcut, maskRows(y, tensor(keep.map((k) => (k ? scale : 0)), maskShape, 'float32')));
      }
      // 'skip': run the branch on the kept rows only.
      const rows: number[] = [];
      for (let i = 0; i < batch; i++) if (keep[this.mode === 'batch' ? 0 : i]) rows.push(i);
      if (rows.length === 0) return clone(shortcut);
      if (rows.length === batch) {
        const y = this.runBranch(x, kwargs);
        return add(shortcut, scale === 1 ? y : mul(y, scale));
      }
      const indices = tensor2d(rows, [rows.length, 1], 'int32');
      const y = this.runBranch(gatherRows(x, indices), kwargs);
      return mergeRows(shortcut, y, indices, scale);
    });
  }

  override getConfig(): serialization.ConfigDict {
    const nest = (l: Layer) => ({className: l.getClassName(), config: l.getConfig()});
    const config: serialization.ConfigDict = {
      rate: this.currentRate,
      mode: this.mode,
      strategy: this.strategy,
      scaleByKeep: this.scaleByKeep,
      branch: nest(this.branch),
      shortcut: this.shortcut ? nest(this.shortcut) : null,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return {...config, ...super.getConfig()};
  }

  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict,
      customObjects: serialization.ConfigDict = {}): T {
    const build = (nested: unknown, what: string): Layer => {
      const n = nested as {className?: string; config?: serialization.ConfigDict} | null;
      const entry = n?.className ? serialization.SerializationMap.getMap().classNameMap[n.className] : undefined;
      if (!n || !entry) {
        throw new Error(`StochasticResidual: cannot deserialize its ${what}: class ${describe(n?.className)} is not ` +
          'registered (import the package that defines it before loading).');
      }
      const [ctor, fromConfig] = entry as unknown as [unknown, (cls: unknown, config: serialization.ConfigDict,
        customObjects: serialization.ConfigDict, fastWeightInit: boolean) => Layer];
      return fromConfig(ctor, n.config ?? {}, customObjects, false);
    };
    const {branch, shortcut, ...rest} = config;
    return new cls({
      ...rest,
      branch: build(branch, 'branch'),
      shortcut: shortcut ? build(shortcut, 'shortcut') : null,
    });
  }
}
serialization.registerClass(StochasticResidual);

/**
 * Creates a {@link StochasticResidual} block.
 *
 * @example
 * const block = dp.layers.stochasticResidual({branch: myConvBlock, rate: 0.1, shortcut: projection});
 */
export function stochasticResidualLayer(args: StochasticResidualArgs): StochasticResidual {
  return new StochasticResidual(args);
}

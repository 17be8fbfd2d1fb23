import {add, clone, gather, mul, reshape, scatterND, serialization, tensor, tensor2d, tidy, zerosLike} from '@tensorflow/tfjs-core';
import type {Scalar, Tensor} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import {SymbolicTensor} from '@tensorflow/tfjs-layers';
import type {LayerVariable, Shape} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs, RegularizerFn} from '@tensorflow/tfjs-layers/dist/types';

import type {DropSettings} from '../src/internal/drop_decision';
import {deserializeNested, nestConfig, setChildWeights} from '../src/internal/nested';
import {DropLayerBase} from './drop_layer';
import {exactlyOne, isTraining, withGradient} from '../src/internal/tensors';
import {checkInput, checkOneOf, describe, optional} from '../src/internal/validate';
import {maskRows} from '../src/ops/drop_path';
import {tensorScatterAdd, tensorflowKernels} from '../src/internal/tf_kernels';
import {scaledOutputLayer, withOutputScale} from './training_paths';
import {allNames, connectedLayers} from '../src/internal/walk';

type Layer = InstanceType<typeof layers.Layer>;

/** How a drop is carried out. */
import type {DropStrategy} from '../src/types';

export type {DropStrategy};
const STRATEGIES: readonly DropStrategy[] = ['skip', 'mask'];

/** Arguments of {@link StochasticResidual}: the drop settings (rate, mode, scaleByKeep, seed), the block and the usual layer args. */
export interface StochasticResidualArgs extends LayerArgs, DropSettings {
  /** The residual branch: any layer, or a whole tf.sequential / tf.model. */
  branch: Layer;
  /**
   * 'skip' (default): the branch runs only on the kept samples ('row') or
   * not at all on a call that drops ('batch'). 'mask': the branch runs on the
   * whole batch and is multiplied by the mask (the classic computation).
   */
  strategy?: DropStrategy;
  /** The shortcut path; default the identity. A layer (e.g. a 1×1 conv projection) when shapes change. */
  shortcut?: Layer | null;
}

function checkStrategy(strategy: unknown, where: string): DropStrategy {
  return checkOneOf(strategy, STRATEGIES, where);
}

/**
 * `shortcut + scatter(indices, branchRows)` with a hand-written gradient: the
 * gradient of the shortcut is dy, that of the branch rows gather(dy, rows).
 * tf.scatterND has no gradient of its own; this is also fewer full-size ops
 * than a gather/concat merge. (The branch rows come already scaled.)
 */
function mergeRows(shortcut: Tensor, branchRows: Tensor, indices: Tensor): Tensor {
  const k = shortcut.dtype === 'float32' ? tensorflowKernels('scatterAdd') : null;
  const merge = withGradient<[Tensor, Tensor]>((s, b, save) => {
    save([indices]);
    return {
      // One TensorScatterAdd on tfjs-node; a scatter and an add elsewhere.
      value: k ? tensorScatterAdd(k, s, indices, b) : add(s, scatterND(indices, b, s.shape)),
      gradFunc: (dy: Tensor, saved: Tensor[]) => [dy, gather(dy, reshape(saved[0] as Tensor, [-1]))],
    };
  });
  return merge(shortcut, branchRows);
}

/**
 * `x[indices]` with a hand-written gradient: scatterND(indices, dy) into x's shape,
 * one op, where tf.gather's own gradient (unsortedSegmentSum with reshapes
 * and transposes) costs several full-size ops.
 */
function gatherRows(x: Tensor, indices: Tensor): Tensor {
  const take = withGradient<[Tensor]>((t, save) => {
    save([indices]);
    return {
      value: gather(t, reshape(indices, [-1])),
      gradFunc: (dy: Tensor, saved: Tensor[]) => scatterND(saved[0] as Tensor, dy, t.shape),
    };
  });
  return take(x);
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
export class StochasticResidual extends DropLayerBase {
  /** Kept literal: minifiers rename classes. */
  static className = 'StochasticResidual';

  readonly branch: Layer;
  readonly shortcut: Layer | null;
  private currentStrategy: DropStrategy;

  constructor(args: StochasticResidualArgs) {
    if (args === null || typeof args !== 'object') {
      throw new Error(`StochasticResidual: args must be an object with a branch and a rate, but received ${describe(args)}.`);
    }
    super(args, 'StochasticResidual', ['branch', 'shortcut', 'strategy']);
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
    this.currentStrategy = checkStrategy(optional(args.strategy, 'skip', 'StochasticResidual: strategy'), 'StochasticResidual: strategy');
    // Weights are saved by name: two sub-layers with one name save, then fail to load.
    const names = [...allNames(this.branch), ...(this.shortcut ? allNames(this.shortcut) : [])];
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) {
      throw new Error(`StochasticResidual: the branch and shortcut must have distinct layer names (their weights ` +
        `are saved by name), but '${dup}' appears twice.`);
    }
  }

  /** 'skip' or 'mask'; writable (validated), takes effect on the next call and is saved. */
  get strategy(): DropStrategy {
    return this.currentStrategy;
  }

  set strategy(strategy: DropStrategy) {
    this.currentStrategy = checkStrategy(strategy, `StochasticResidual '${this.name}': strategy`);
  }

  private children(): Layer[] {
    // Called by the base constructor before the children are set.
    return [this.branch, this.shortcut].filter((l): l is Layer => l != null);
  }

  /** The layers this block owns, branch first (what code that walks a model visits inside it). */
  nestedLayers(): Layer[] {
    return this.children();
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
    setChildWeights(this.children(), weights, `StochasticResidual '${this.name}'`);
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const builtHere: Layer[] = [];
    for (const child of this.children()) {
      if (!child.built) {
        child.build(shape);
        child.built = true;
        builtHere.push(child);
      }
    }
    // A child built here creates its weights under this block's name scope
    // ('block/kernel'), not its own: a branch and a shortcut that both have a
    // kernel would save under one name and then fail to load. Give those the
    // child's name too ('block/child/kernel') — the same on every build, so a
    // saved model finds them again.
    const names = this.weights.map((w) => w.originalName);
    if (new Set(names).size !== names.length) {
      for (const child of builtHere) {
        for (const w of child.weights) {
          const cut = w.originalName.lastIndexOf('/');
          (w as {originalName: string}).originalName =
            `${w.originalName.slice(0, cut + 1)}${child.name}/${w.originalName.slice(cut + 1)}`;
        }
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

  override apply(inputs: Tensor | Tensor[] | SymbolicTensor | SymbolicTensor[], kwargs?: Kwargs): Tensor | Tensor[] |
      SymbolicTensor | SymbolicTensor[] {
    const out = super.apply(inputs, kwargs);
    if (out instanceof SymbolicTensor || (Array.isArray(out) && out[0] instanceof SymbolicTensor)) this.checkSavedNames();
    return out;
  }

  /**
   * Refuses a model that would save and then fail to load: tf.layers saves
   * every weight under its name, and layers inside this block are not checked
   * against the rest of the model by tfjs (its own check covers top-level
   * names only). Run when the block joins a model and again on save.
   */
  private checkSavedNames(): void {
    const mine = new Map(this.weights.map((w) => [w.originalName, w]));
    for (const other of connectedLayers(this)) {
      if (other === this) continue;
      for (const w of other.weights) {
        if (mine.has(w.originalName) && mine.get(w.originalName) !== w) {
          throw new Error(`StochasticResidual '${this.name}': its weight '${w.originalName}' has the same saved name as ` +
            `a weight of layer '${other.name}' in this model, so the model would save and then fail to load ` +
            "('Duplicate weight name'). Give the layers inside the branches distinct names.");
        }
      }
    }
  }

  override setFastWeightInitDuringBuild(value: boolean): void {
    super.setFastWeightInitDuringBuild(value);
    for (const child of this.children()) child.setFastWeightInitDuringBuild(value);
  }

  private runBranch(x: Tensor, kwargs: Kwargs): Tensor {
    return exactlyOne(this.branch.apply(x, kwargs) as Tensor | Tensor[], `StochasticResidual '${this.name}': branch`);
  }

  /**
   * `branch(x) · scale`. When the branch ends in a BatchNormalization on the
   * fast path, the scale goes into that layer's gamma and beta for this call
   * (two [C] products instead of a full-size product forward and backward).
   */
  private runScaledBranch(x: Tensor, kwargs: Kwargs, scale: number): Tensor {
    if (scale === 1) return this.runBranch(x, kwargs);
    const last = scaledOutputLayer(this.branch);
    return last ? withOutputScale(last, scale, () => this.runBranch(x, kwargs)) : mul(this.runBranch(x, kwargs), scale);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `StochasticResidual '${this.name}'`;
      const x = checkInput(exactlyOne(inputs, where), `${where}: input`);
      const rate = this.drop.callRate();
      const shortcut = this.shortcut ?
        exactlyOne(this.shortcut.apply(x, kwargs) as Tensor | Tensor[], `${where}: shortcut`) : x;
      if (!isTraining(kwargs) || rate === 0) return add(shortcut, this.runBranch(x, kwargs));
      if (rate === 1) return this.dropAll(shortcut);
      const scale = this.scaleByKeep ? 1 / (1 - rate) : 1;
      const batch = x.shape[0] as number;
      const {keep} = this.drop.next(batch, rate);
      if (this.strategy === 'mask') {
        const y = this.runBranch(x, kwargs);
        const maskShape = y.shape.map((_, i) => (i === 0 ? keep.length : 1));
        return add(shortcut, maskRows(y, tensor(keep.map((k) => (k ? scale : 0)), maskShape, 'float32')));
      }
      // 'skip': run the branch on the kept rows only.
      const rows: number[] = [];
      for (let i = 0; i < batch; i++) if (keep[this.mode === 'batch' ? 0 : i]) rows.push(i);
      if (rows.length === 0) return this.dropAll(shortcut);
      if (rows.length === batch) return add(shortcut, this.runScaledBranch(x, kwargs, scale));
      const indices = tensor2d(rows, [rows.length, 1], 'int32');
      return mergeRows(shortcut, this.runScaledBranch(gatherRows(x, indices), kwargs, scale), indices);
    });
  }

  /**
   * A training call that drops every sample: the shortcut, with the branch's
   * trainable weights linked in by an op whose value adds nothing and whose
   * gradient is exactly 0. The optimizer then sees zero gradients for them —
   * as under 'mask', which computes the branch and multiplies it by 0 — and a
   * model whose only weights sit in such blocks still trains (tf.train
   * refuses a loss that no variable reaches).
   */
  private dropAll(shortcut: Tensor): Tensor {
    const weights = this.branch.trainableWeights.map((w) => w.read());
    if (weights.length === 0) return clone(shortcut);
    const link = withGradient<Tensor[]>((...args) => {
      const [s, ...ws] = args.slice(0, -1) as Tensor[];
      return {
        value: clone(s as Tensor),
        gradFunc: (dy: Tensor) => [dy, ...ws.map((w) => zerosLike(w))],
      };
    });
    return link(shortcut, ...weights);
  }

  override getConfig(): serialization.ConfigDict {
    this.checkSavedNames();
    const config: serialization.ConfigDict = {
      ...this.drop.config(),
      strategy: this.strategy,
      branch: nestConfig(this.branch),
      shortcut: this.shortcut ? nestConfig(this.shortcut) : null,
    };
    return {...config, ...super.getConfig()};
  }

  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict,
      customObjects: serialization.ConfigDict = {}): T {
    const owner = `StochasticResidual${typeof config.name === 'string' ? ` '${config.name}'` : ''}`;
    const build = (nested: unknown, field: string) => deserializeNested(nested, field, owner, customObjects);
    const {branch, shortcut, ...rest} = config;
    return new cls({
      ...rest,
      branch: build(branch, 'branch'),
      shortcut: shortcut === null || shortcut === undefined ? null : build(shortcut, 'shortcut'),
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

/**
 * Optimizer updates at the cost of their arithmetic: all the variables of a
 * step updated as ONE flat vector. tf.train's optimizers run their update per
 * variable — Adam about 14 element-wise kernels for each, one dispatch each —
 * so a ResNet of 100 variables dispatches some 1,400 small kernels per step.
 * Here each step concatenates the gradients into one vector (one kernel), runs
 * the update's arithmetic once on it and on flat moment buffers, splits the new
 * values (one kernel) and reshapes them into the variables: about 2 kernels
 * per variable and 15 in all.
 *
 * The updates are tf.train's own (`adam`, `momentum`/`sgd`) and torch's AdamW,
 * in the same order of float32 operations, so the weights follow theirs to
 * rounding. A step whose gradients do not cover the variables of the first
 * step (a gradient missing, a new variable) is refused with what changed.
 */
import {add, concat, div, dispose, engine, mul, pow, reshape, scalar, split, sqrt, square, sub, tensor1d, tidy, zeros} from '@tensorflow/tfjs-core';
import type {NamedTensorMap, Tensor, Variable} from '@tensorflow/tfjs-core';
import {Optimizer, serialization} from '@tensorflow/tfjs-core';
import type {NamedTensor} from '@tensorflow/tfjs-core/dist/tensor_types';

import {checkKeys, describe, optional} from '../internal/validate';

/** The variables of a step, in the order their gradients come, with the flat layout. */
export interface Layout {
  names: string[];
  variables: Variable[];
  sizes: number[];
  total: number;
}

export function inRange(value: unknown, where: string, lo: number, hi: number, hiOpen: boolean, loOpen = false): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (loOpen ? value > lo : value >= lo) && (hiOpen ? value < hi : value <= hi);
  if (!ok) {
    throw new Error(`${where} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, but received ${describe(value)}.`);
  }
  return value as number;
}

/** The flat-vector machinery the three optimizers share: layout, slots (flat buffers), saving, loading. */
export abstract class GroupedOptimizer extends Optimizer {
  protected layout: Layout | null = null;
  /** Flat state buffers, by slot name ('m', 'v', 'accum'), each of the layout's total size. */
  protected slots = new Map<string, Variable>();
  protected abstract readonly slotNames: readonly string[];
  protected abstract readonly where: string;

  /** The new flat values of the variables from the flat gradient `g` and values `p` (inside a tidy). */
  protected abstract update(g: Tensor, p: Tensor, t: number): Tensor;

  override applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const pairs: [string, Tensor | null][] = Array.isArray(variableGradients) ?
      variableGradients.map((v) => [v.name, v.tensor]) : Object.entries(variableGradients);
    const layout = this.layoutFor(pairs);
    const t = this.iterations + 1;
    tidy(() => {
      // A reshape is a kernel on tfjs-node: none for what is already flat (biases, BatchNorm's gamma and beta).
      const flat1 = (x: Tensor) => (x.rank === 1 ? x : reshape(x, [-1]));
      const flat = (ts: Tensor[]) => (ts.length === 1 ? flat1(ts[0] as Tensor) : concat(ts.map(flat1)));
      const g = flat(pairs.map(([, grad]) => grad as Tensor));
      const p = flat(layout.variables);
      const next = this.update(g, p, t);
      const parts = layout.variables.length === 1 ? [next] : split(next, layout.sizes);
      parts.forEach((part, i) => {
        const variable = layout.variables[i] as Variable;
        variable.assign(variable.rank === 1 ? part : reshape(part, variable.shape));
      });
    });
    this.incrementIterations();
  }

  /** The layout of the first step; later steps must bring the same variables in the same order. */
  private layoutFor(pairs: [string, Tensor | null][]): Layout {
    const missing = pairs.filter(([, g]) => g == null).map(([n]) => n);
    if (missing.length) {
      throw new Error(`${this.where}: no gradient for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}: every variable ` +
        'the optimizer updates must get one each step (pass only the variables that train).');
    }
    const names = pairs.map(([n]) => n);
    if (this.layout) {
      const same = this.layout.names.length === names.length && this.layout.names.every((n, i) => n === names[i]);
      if (!same) {
        throw new Error(`${this.where}: this step updates other variables than the first (${names.length} here, ${this.layout.names.length} ` +
          'then): one optimizer serves one set of variables; give each model its own optimizer.');
      }
      return this.layout;
    }
    const variables = names.map((n) => {
      const v = engine().registeredVariables[n];
      if (!v) throw new Error(`${this.where}: no variable '${n}' is registered (a gradient for a disposed variable?).`);
      return v as Variable;
    });
    const sizes = variables.map((v) => v.size);
    const total = sizes.reduce((a, b) => a + b, 0);
    const pending = this.pending?.map((v) => v.shape.reduce((a, b) => a * b, 1));
    if (pending && (pending.length !== sizes.length || pending.some((n, i) => n !== sizes[i]))) {
      throw new Error(`${this.where}: the state set by setWeights holds ${pending.length} variables of sizes [${pending.slice(0, 6)}…], ` +
        `but this step updates ${sizes.length} of sizes [${sizes.slice(0, 6)}…].`);
    }
    this.pending = null;
    this.layout = {names, variables, sizes, total};
    for (const s of this.slotNames) if (!this.slots.has(s)) this.slots.set(s, zeros([total]).variable(false));
    this.onLayout(this.layout);
    return this.layout;
  }

  /** The optimizer its config describes (every subclass takes its config as its one argument object). */
  static override fromConfig<T extends serialization.Serializable>(cls: serialization.SerializableConstructor<T>,
      config: serialization.ConfigDict): T {
    const args = {...config};
    delete args.customObjects; // tfjs passes its customObjects along
    return new (cls as unknown as new (a: serialization.ConfigDict) => T)(args);
  }

  /** Called once the layout is known (e.g. to build a decay mask). */
  protected onLayout(_layout: Layout): void {}

  protected slot(name: string): Variable {
    return this.slots.get(name) as Variable;
  }

  override dispose(): void {
    dispose([...this.slots.values()]);
    this.slots.clear();
    this.layout = null;
  }

  /**
   * tf.train's form: the iterations, then each slot per variable (`<variable>/<slot>`, in the variables' order):
   * what `model.save(…, {includeOptimizer: true})` stores.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [await this.saveIterations()];
    // The variables of the first step; or, before it, those whose state setWeights brought.
    const vars = this.layout ? this.layout.variables.map((v, i) => ({name: (this.layout as Layout).names[i] as string, shape: v.shape})) :
      this.pending;
    if (!vars || vars.length === 0) return out;
    const sizes = vars.map((v) => v.shape.reduce((a, b) => a * b, 1));
    for (const s of this.slotNames) {
      const parts = vars.length === 1 ? [this.slot(s)] : split(this.slot(s), sizes);
      parts.forEach((part, i) => out.push({name: `${vars[i]?.name}/${s}`, tensor: reshape(part, vars[i]?.shape as number[])}));
    }
    return out;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    const per = this.slotNames.length;
    if (per === 0 ? values.length !== 0 : values.length % per !== 0) {
      throw new Error(`${this.where}: setWeights expects the iterations and then ${this.slotNames.join(', ')} per variable, but received ` +
        `${values.length} tensors.`);
    }
    const n = per === 0 ? 0 : values.length / per;
    dispose([...this.slots.values()]);
    this.slots.clear();
    this.layout = null;
    // The moments wait, flat, for the first step's variables; sizes are checked then.
    this.slotNames.forEach((s, k) => {
      const chunk = values.slice(k * n, (k + 1) * n);
      this.slots.set(s, tidy(() => (chunk.length ? concat(chunk.map((c) => reshape(c.tensor, [-1]))) : tensor1d([])).variable(false)));
    });
    this.pending = per === 0 ? null : values.slice(0, n).map((c) => ({name: c.name.slice(0, -(this.slotNames[0] as string).length - 1), shape: c.tensor.shape}));
  }

  /** The variables (names, shapes) whose state setWeights brought, checked against the next step's. */
  protected pending: {name: string; shape: number[]}[] | null = null;
}

// ------------------------------------------------------------------ Adam / AdamW

export interface GroupedAdamArgs {
  /** Default 0.001. */
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  /** Default: tf.train.adam's (the backend's epsilon, 1e-7 in float32). */
  epsilon?: number;
}

const ADAM_KEYS = ['learningRate', 'beta1', 'beta2', 'epsilon'];

/**
 * `tf.train.adam`'s update on one flat vector: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
 * p ← p − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε). Serializable as 'GroupedAdam'.
 */
export class GroupedAdam extends GroupedOptimizer {
  static get className(): string {
    return 'GroupedAdam';
  }

  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  protected readonly slotNames = ['m', 'v'] as const;
  protected readonly where = 'optimizers.adam';
  /** β1^t and β2^t as float32 variables multiplied each step, as tf.train.adam keeps them. */
  private accBeta: {b1: Variable; b2: Variable};

  constructor(args: GroupedAdamArgs = {}) {
    super();
    checkKeys(args, ADAM_KEYS, 'optimizers.adam(args)');
    this.learningRate = inRange(optional(args.learningRate, 0.001, 'adam: learningRate'), 'optimizers.adam: learningRate', 0, Infinity, true);
    this.beta1 = inRange(optional(args.beta1, 0.9, 'adam: beta1'), 'optimizers.adam: beta1', 0, 1, true);
    this.beta2 = inRange(optional(args.beta2, 0.999, 'adam: beta2'), 'optimizers.adam: beta2', 0, 1, true);
    this.epsilon = inRange(optional(args.epsilon, engine().backend.epsilon(), 'adam: epsilon'), 'optimizers.adam: epsilon', 0, Infinity,
      true, true);
    this.accBeta = tidy(() => ({b1: scalar(this.beta1).variable(false), b2: scalar(this.beta2).variable(false)}));
  }

  protected update(g: Tensor, p: Tensor): Tensor {
    const m = add(mul(this.slot('m'), this.beta1), mul(g, 1 - this.beta1));
    const v = add(mul(this.slot('v'), this.beta2), mul(square(g), 1 - this.beta2));
    this.slot('m').assign(m);
    this.slot('v').assign(v);
    const mHat = div(m, sub(1, this.accBeta.b1));
    const vHat = div(v, sub(1, this.accBeta.b2));
    const next = add(mul(div(mHat, add(sqrt(vHat), this.epsilon)), -this.learningRate), p);
    this.accBeta.b1.assign(mul(this.accBeta.b1, this.beta1));
    this.accBeta.b2.assign(mul(this.accBeta.b2, this.beta2));
    return next;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    await super.setWeights(weightValues);
    tidy(() => {
      // As tf.train.adam restores them: float32 powers.
      this.accBeta.b1.assign(pow(this.beta1, this.iterations + 1));
      this.accBeta.b2.assign(pow(this.beta2, this.iterations + 1));
    });
  }

  override dispose(): void {
    super.dispose();
    dispose([this.accBeta.b1, this.accBeta.b2]);
  }

  override getConfig(): serialization.ConfigDict {
    return {learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon};
  }

}
serialization.registerClass(GroupedAdam);

// ------------------------------------------------------------------ SGD with momentum

export interface GroupedSGDArgs {
  learningRate: number;
  /** Default 0: plain SGD (tf.train.sgd); above 0, tf.train.momentum's update. */
  momentum?: number;
  /** tf.train.momentum's useNesterov (default false). */
  useNesterov?: boolean;
}

/**
 * `tf.train.sgd` (p ← p − lr·g) or, with momentum, `tf.train.momentum`'s update (accum ← momentum·accum + g;
 * p ← p − lr·accum, or p ← p − lr·(g + momentum·accum) with Nesterov) on one flat vector. Serializable as 'GroupedSGD'.
 */
export class GroupedSGD extends GroupedOptimizer {
  static get className(): string {
    return 'GroupedSGD';
  }

  learningRate: number;
  readonly momentum: number;
  readonly useNesterov: boolean;
  protected readonly where = 'optimizers.sgd';
  protected get slotNames(): readonly string[] {
    return this.momentum > 0 ? ['accum'] : [];
  }

  constructor(args: GroupedSGDArgs) {
    super();
    if (args === null || typeof args !== 'object') throw new Error(`optimizers.sgd: args must be {learningRate, momentum?, useNesterov?}, but received ${describe(args)}.`);
    checkKeys(args, ['learningRate', 'momentum', 'useNesterov'], 'optimizers.sgd(args)');
    this.learningRate = inRange(args.learningRate, 'optimizers.sgd: learningRate', 0, Infinity, true);
    this.momentum = inRange(optional(args.momentum, 0, 'sgd: momentum'), 'optimizers.sgd: momentum', 0, 1, true);
    const nesterov = optional(args.useNesterov, false, 'sgd: useNesterov');
    if (typeof nesterov !== 'boolean') throw new Error(`optimizers.sgd: useNesterov must be a boolean, but received ${describe(nesterov)}.`);
    this.useNesterov = nesterov;
  }

  protected update(g: Tensor, p: Tensor): Tensor {
    if (this.momentum === 0) return sub(p, mul(g, this.learningRate));
    const accum = add(mul(this.slot('accum'), this.momentum), g);
    this.slot('accum').assign(accum);
    const step = this.useNesterov ? add(mul(accum, this.momentum), g) : accum;
    return add(mul(step, -this.learningRate), p);
  }

  override getConfig(): serialization.ConfigDict {
    return {learningRate: this.learningRate, momentum: this.momentum, useNesterov: this.useNesterov};
  }
}
serialization.registerClass(GroupedSGD);


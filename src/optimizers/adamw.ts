/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") as a
 * `tf.Optimizer`, with the update `torch.optim.AdamW` makes, step for step:
 *
 *   p ← p · (1 − lr · weightDecay)                      (decoupled decay; not for excluded variables)
 *   m ← m + (1 − β1) · (g − m)
 *   v ← β2 · v + (1 − β2) · g²
 *   p ← p − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
 *
 * ε is added to the bias-corrected √v, as torch does (Keras 3's AdamW adds it
 * to the uncorrected √v, which is a larger effective ε early in training).
 * The bias corrections are computed in double precision on the host, as
 * torch computes them from its step count.
 */
import {add, div, dispose, engine, mul, serialization, sqrt, square, sub, tidy, zerosLike} from '@tensorflow/tfjs-core';
import type {NamedTensorMap, Tensor, Variable} from '@tensorflow/tfjs-core';
import type {NamedTensor} from '@tensorflow/tfjs-core/dist/tensor_types';
import {Optimizer} from '@tensorflow/tfjs-core';

import {checkKeys, checkOneOf, describe, optional} from '../internal/validate';

/** Which variables weight decay leaves alone: 'none' (decay every variable, torch's default) or 'timm'. */
export type DecayExclusion = 'none' | 'timm';

export interface AdamWArgs {
  /** Default 1e-3. */
  learningRate?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8 (torch's). */
  epsilon?: number;
  /** Decoupled weight decay (default 0.01, torch's; timm's recipes 0.05). */
  weightDecay?: number;
  /**
   * 'timm': no decay for variables of rank ≤ 1 (biases, norms' scales and offsets, LayerScale) nor for the class
   * token and position embedding (`cls_token`, `pos_embed`, `dist_token` by name), as timm's
   * `param_groups_weight_decay`; 'none' (default): every variable decays.
   */
  exclude?: DecayExclusion;
  /** More variables without decay: those whose name contains one of these. */
  excludeNames?: string[];
}

const KEYS = ['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'exclude', 'excludeNames'];
const TIMM_NAMES = ['cls_token', 'pos_embed', 'dist_token'];

function inRange(value: unknown, where: string, lo: number, hi: number, loOpen: boolean, hiOpen: boolean): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (loOpen ? value > lo : value >= lo) && (hiOpen ? value < hi : value <= hi);
  if (!ok) {
    throw new Error(`${where} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, but received ${describe(value)}.`);
  }
  return value as number;
}

/** One variable's moments, and the names they are saved under (`<variable>/m`, `<variable>/v`, as tfjs' Adam). */
interface Slot {
  m: Variable;
  v: Variable;
  mName: string;
  vName: string;
}

/** AdamW with decoupled weight decay: `optimizers.adamw(args)`; serializable (class name 'AdamW'). */
export class AdamW extends Optimizer {
  static get className(): string {
    return 'AdamW';
  }

  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly exclude: DecayExclusion;
  readonly excludeNames: readonly string[];
  /**
   * The moments, by the variable's place in the gradients given (as tfjs' own optimizers keep them: a model passes
   * its trainable weights in one order, so moments restored by setWeights meet their variables in a loaded model
   * whose variables are named anew).
   */
  private slots: Slot[] = [];

  constructor(args: AdamWArgs = {}) {
    super();
    checkKeys(args, KEYS, 'optimizers.adamw(args)');
    this.learningRate = inRange(optional(args.learningRate, 1e-3, 'adamw: learningRate'), 'adamw: learningRate', 0, Infinity, false, true);
    this.beta1 = inRange(optional(args.beta1, 0.9, 'adamw: beta1'), 'adamw: beta1', 0, 1, false, true);
    this.beta2 = inRange(optional(args.beta2, 0.999, 'adamw: beta2'), 'adamw: beta2', 0, 1, false, true);
    this.epsilon = inRange(optional(args.epsilon, 1e-8, 'adamw: epsilon'), 'adamw: epsilon', 0, Infinity, false, true);
    this.weightDecay = inRange(optional(args.weightDecay, 0.01, 'adamw: weightDecay'), 'adamw: weightDecay', 0, Infinity, false, true);
    this.exclude = checkOneOf(optional(args.exclude, 'none', 'adamw: exclude'), ['none', 'timm'] as const, 'adamw: exclude');
    const names = optional(args.excludeNames, [], 'adamw: excludeNames');
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && n.length > 0)) {
      throw new Error(`adamw: excludeNames must be an array of non-empty strings, but received ${describe(names)}.`);
    }
    this.excludeNames = Object.freeze([...names]);
  }

  /** Whether weight decay applies to `variable` (by its rank and name, as `exclude` and `excludeNames` say). */
  decays(variable: Variable): boolean {
    if (this.weightDecay === 0) return false;
    const name = variable.name;
    if (this.excludeNames.some((n) => name.includes(n))) return false;
    if (this.exclude === 'timm' && (variable.rank <= 1 || TIMM_NAMES.some((n) => (name.split('/').pop() as string).startsWith(n)))) return false;
    return true;
  }

  override applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const pairs: [string, Tensor | null][] = Array.isArray(variableGradients) ?
      variableGradients.map((v) => [v.name, v.tensor]) : Object.entries(variableGradients);
    const t = this.iterations + 1; // (iterations_ is undefined until the getter first runs)
    const lr = this.learningRate;
    const stepSize = lr / (1 - this.beta1 ** t);
    const correction2 = Math.sqrt(1 - this.beta2 ** t);
    tidy(() => {
      pairs.forEach(([name, gradient], i) => {
        const variable = engine().registeredVariables[name] as Variable | undefined;
        if (!variable) throw new Error(`adamw: no variable '${name}' is registered (a gradient for a disposed variable?).`);
        let slot = this.slots[i];
        if (!slot) {
          slot = tidy(() => ({m: zerosLike(variable).variable(false), v: zerosLike(variable).variable(false), mName: `${name}/m`,
            vName: `${name}/v`}));
          this.slots[i] = slot;
        }
        if (gradient == null) return;
        const m = add(slot.m, mul(sub(gradient, slot.m), 1 - this.beta1));
        const v = add(mul(slot.v, this.beta2), mul(square(gradient), 1 - this.beta2));
        slot.m.assign(m);
        slot.v.assign(v);
        const decayed = this.decays(variable) ? mul(variable, 1 - lr * this.weightDecay) : variable;
        variable.assign(sub(decayed, mul(div(m, add(div(sqrt(v), correction2), this.epsilon)), stepSize)));
      });
    });
    this.incrementIterations();
  }

  override dispose(): void {
    for (const s of this.slots) dispose([s.m, s.v]);
    this.slots = [];
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const slots = this.slots;
    return [await this.saveIterations(), ...slots.map((s) => ({name: s.mName, tensor: s.m})),
      ...slots.map((s) => ({name: s.vName, tensor: s.v}))];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    if (values.length % 2 !== 0) throw new Error(`adamw: setWeights expects the iterations and then m and v per variable, but received ${values.length} moments.`);
    const half = values.length / 2;
    this.dispose();
    for (let i = 0; i < half; i++) {
      const m = values[i] as NamedTensor;
      const v = values[half + i] as NamedTensor;
      const name = m.name.replace(/\/m$/, '');
      if (v.name !== `${name}/v`) throw new Error(`adamw: setWeights found '${m.name}' and '${v.name}' in the places of one variable's m and v.`);
      this.slots.push({m: m.tensor.variable(false), v: v.tensor.variable(false), mName: m.name, vName: v.name});
    }
  }

  override getConfig(): serialization.ConfigDict {
    return {learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay,
      exclude: this.exclude, excludeNames: [...this.excludeNames]};
  }

  static override fromConfig<T extends serialization.Serializable>(cls: serialization.SerializableConstructor<T>,
      config: serialization.ConfigDict): T {
    const args = {...config} as AdamWArgs & {customObjects?: unknown};
    delete args.customObjects; // tfjs passes its customObjects along
    return new (cls as unknown as new (args: AdamWArgs) => T)(args);
  }
}
serialization.registerClass(AdamW);

/**
 * AdamW, the optimizer of the recipes that use drop path (DeiT, ConvNeXt, Swin, MAE): a `tf.Optimizer` to give
 * `model.compile`. Updates equal `torch.optim.AdamW`'s.
 *
 * @example
 * model.compile({optimizer: dp.optimizers.adamw({learningRate: 5e-4, weightDecay: 0.05, exclude: 'timm'}), loss: 'categoricalCrossentropy'});
 */
export function adamw(args: AdamWArgs = {}): AdamW {
  return new AdamW(args);
}


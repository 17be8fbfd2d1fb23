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
 * The bias corrections and the decay factor are computed in double precision
 * on the host, as torch computes them. All variables are updated as one flat
 * vector (./grouped.ts).
 */
import {add, dispose, div, keep, mul, serialization, sqrt, square, sub, tensor1d} from '@tensorflow/tfjs-core';
import type {Tensor, Variable} from '@tensorflow/tfjs-core';

import {checkKeys, checkOneOf, describe, optional} from '../internal/validate';
import {GroupedOptimizer, inRange} from './grouped';
import type {Layout} from './grouped';

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

/** AdamW with decoupled weight decay: `optimizers.adamw(args)`; serializable (class name 'AdamW'). */
export class AdamW extends GroupedOptimizer {
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
  protected readonly slotNames = ['m', 'v'] as const;
  protected readonly where = 'optimizers.adamw';
  /** Per flat element: whether its variable decays; and the factor vector for the learning rate it was made for. */
  private decayMask: boolean[] | null = null;
  private factor: {lr: number; tensor: Tensor} | null = null;

  constructor(args: AdamWArgs = {}) {
    super();
    checkKeys(args, KEYS, 'optimizers.adamw(args)');
    this.learningRate = inRange(optional(args.learningRate, 1e-3, 'adamw: learningRate'), 'adamw: learningRate', 0, Infinity, true);
    this.beta1 = inRange(optional(args.beta1, 0.9, 'adamw: beta1'), 'adamw: beta1', 0, 1, true);
    this.beta2 = inRange(optional(args.beta2, 0.999, 'adamw: beta2'), 'adamw: beta2', 0, 1, true);
    this.epsilon = inRange(optional(args.epsilon, 1e-8, 'adamw: epsilon'), 'adamw: epsilon', 0, Infinity, true, true);
    this.weightDecay = inRange(optional(args.weightDecay, 0.01, 'adamw: weightDecay'), 'adamw: weightDecay', 0, Infinity, true);
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

  protected override onLayout(layout: Layout): void {
    this.decayMask = layout.variables.map((v) => this.decays(v));
    this.dropFactor();
  }

  /** p · (1 − lr·wd) for decaying elements, p for the others: the factor as torch casts it (double → float32). */
  private decayFactor(layout: Layout): Tensor | null {
    if (this.weightDecay === 0 || !this.decayMask?.some(Boolean)) return null;
    if (this.factor?.lr === this.learningRate) return this.factor.tensor;
    this.dropFactor();
    const values = new Float32Array(layout.total);
    let at = 0;
    layout.sizes.forEach((n, i) => {
      values.fill(this.decayMask?.[i] ? 1 - this.learningRate * this.weightDecay : 1, at, at + n);
      at += n;
    });
    const tensor = keep(tensor1d(values)); // made inside the step's tidy, kept across steps
    this.factor = {lr: this.learningRate, tensor};
    return tensor;
  }

  private dropFactor(): void {
    if (this.factor) dispose(this.factor.tensor);
    this.factor = null;
  }

  protected update(g: Tensor, p: Tensor, t: number): Tensor {
    const lr = this.learningRate;
    const stepSize = lr / (1 - this.beta1 ** t);
    const correction2 = Math.sqrt(1 - this.beta2 ** t);
    const m = add(this.slot('m'), mul(sub(g, this.slot('m')), 1 - this.beta1));
    const v = add(mul(this.slot('v'), this.beta2), mul(square(g), 1 - this.beta2));
    this.slot('m').assign(m);
    this.slot('v').assign(v);
    const factor = this.decayFactor(this.layout as Layout);
    const decayed = factor ? mul(p, factor) : p;
    return sub(decayed, mul(div(m, add(div(sqrt(v), correction2), this.epsilon)), stepSize));
  }

  override dispose(): void {
    super.dispose();
    this.dropFactor();
  }

  override getConfig(): serialization.ConfigDict {
    return {learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay,
      exclude: this.exclude, excludeNames: [...this.excludeNames]};
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

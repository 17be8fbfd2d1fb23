/**
 * The layers a vision transformer needs that tfjs-layers 4.22 lacks, in timm's
 * form so that timm's weights load unchanged in meaning:
 *
 * - `MultiHeadSelfAttention`: timm's `Attention` — one fused qkv projection
 *   (`[dim, 3·dim]`, columns q | k | v, each head's `dim/heads` columns in a
 *   row), softmax(q kᵀ / √(dim/heads)) v, an output projection; attention and
 *   projection dropout in training.
 * - `ClassTokenPosition`: the learned class token (prepended) and position
 *   embedding (added) of timm's `VisionTransformer._pos_embed`, with timm's
 *   `no_embed_class` as `embedClass: false`.
 * - `TokenPool`: the head's pooling over tokens — the class token ('token') or
 *   the mean of the patch tokens ('avg').
 *
 * Tokens are `[batch, tokens, dim]`. Every layer is serializable (tf.io routes)
 * and validates its arguments like the rest of the package.
 */
import {add, concat, dropout, matMul, mean, mul, reshape, serialization, slice, softmax, split, tidy, tile, transpose} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {initializers, layers} from '@tensorflow/tfjs-layers';
import type {LayerVariable, Shape} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {exactlyOne, isTraining} from '../src/internal/tensors';
import {checkBoolean, checkKeys, checkOneOf, checkPositiveInt, checkRate, checkSeed, describe, optional, TFJS_LAYER_ARGS}
  from '../src/internal/validate';

type InitializerName = 'glorotUniform' | 'truncatedNormal' | 'zeros';

/** One shape `[batch, tokens, dim]`, or a message naming what arrived. */
function tokenShape(inputShape: Shape | Shape[], where: string): [number | null, number | null, number] {
  const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  const dim = shape?.[2];
  if (!Array.isArray(shape) || shape.length !== 3 || typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) {
    throw new Error(`${where}: expected tokens of shape [batch, tokens, dim] with a known dim, but received ` +
      `${JSON.stringify(shape)}.`);
  }
  return [shape[0] ?? null, shape[1] ?? null, dim];
}

/** The ViT weight initializers timm uses: trunc_normal(std 0.02) for weights, zeros for biases. */
function init(name: InitializerName, seed: number | undefined) {
  if (name === 'zeros') return initializers.zeros();
  if (name === 'truncatedNormal') return initializers.truncatedNormal({stddev: 0.02, seed});
  return initializers.glorotUniform({seed});
}

export interface MultiHeadSelfAttentionArgs extends LayerArgs {
  /** Number of heads; the token dim must divide by it. */
  numHeads: number;
  /** Bias on the qkv projection (timm's `qkv_bias`, default true). The output projection always has one. */
  qkvBias?: boolean;
  /** Dropout on the attention weights in training (timm's `attn_drop`, default 0). */
  attentionDropout?: number;
  /** Dropout on the output in training (timm's `proj_drop`, default 0). */
  projectionDropout?: number;
  /** Kernel initializer: 'truncatedNormal' (std 0.02, timm's ViT; default) or 'glorotUniform'. */
  kernelInitializer?: 'truncatedNormal' | 'glorotUniform';
  /** Seed of the kernel initializers. */
  seed?: number;
}

/**
 * Multi-head self-attention on tokens `[batch, tokens, dim]`, as timm's
 * `Attention`: `qkv = x·W_qkv + b_qkv` split into q, k, v of `numHeads` heads
 * of `dim/numHeads`, `softmax(q·kᵀ · (dim/numHeads)^-0.5)·v`, heads joined,
 * then `·W_proj + b_proj`. Weights: `qkv_kernel [dim, 3·dim]`, `qkv_bias
 * [3·dim]` (with `qkvBias`), `proj_kernel [dim, dim]`, `proj_bias [dim]`.
 */
export class MultiHeadSelfAttention extends layers.Layer {
  static className = 'MultiHeadSelfAttention';
  readonly numHeads: number;
  readonly qkvBias: boolean;
  readonly attentionDropout: number;
  readonly projectionDropout: number;
  readonly kernelInitializer: 'truncatedNormal' | 'glorotUniform';
  readonly seed: number | undefined;
  private weightsOf: {qkv: LayerVariable; qkvBias: LayerVariable | null; proj: LayerVariable; projBias: LayerVariable} | null = null;

  constructor(args: MultiHeadSelfAttentionArgs) {
    checkKeys(args, ['numHeads', 'qkvBias', 'attentionDropout', 'projectionDropout', 'kernelInitializer', 'seed',
      ...TFJS_LAYER_ARGS], 'MultiHeadSelfAttention(args)');
    super(args);
    this.numHeads = checkPositiveInt(args.numHeads, 'MultiHeadSelfAttention: numHeads');
    this.qkvBias = checkBoolean(optional(args.qkvBias, true, 'MultiHeadSelfAttention: qkvBias'), 'MultiHeadSelfAttention: qkvBias');
    this.attentionDropout = checkRate(optional(args.attentionDropout, 0, 'MultiHeadSelfAttention: attentionDropout'),
      'MultiHeadSelfAttention: attentionDropout');
    this.projectionDropout = checkRate(optional(args.projectionDropout, 0, 'MultiHeadSelfAttention: projectionDropout'),
      'MultiHeadSelfAttention: projectionDropout');
    this.kernelInitializer = checkOneOf(optional(args.kernelInitializer, 'truncatedNormal', 'MultiHeadSelfAttention: kernelInitializer'),
      ['truncatedNormal', 'glorotUniform'] as const, 'MultiHeadSelfAttention: kernelInitializer');
    this.seed = checkSeed(args.seed, 'MultiHeadSelfAttention: seed');
    if (this.attentionDropout === 1 || this.projectionDropout === 1) {
      throw new Error('MultiHeadSelfAttention: a dropout of 1 drops everything; attentionDropout and projectionDropout must be below 1.');
    }
  }

  override build(inputShape: Shape | Shape[]): void {
    const [, , dim] = tokenShape(inputShape, `MultiHeadSelfAttention '${this.name}'`);
    if (dim % this.numHeads !== 0) {
      throw new Error(`MultiHeadSelfAttention '${this.name}': the token dim ${dim} must divide by numHeads ${this.numHeads}.`);
    }
    const kernel = (k: number) => init(this.kernelInitializer, this.seed === undefined ? undefined : this.seed + k);
    this.weightsOf = {
      qkv: this.addWeight('qkv_kernel', [dim, 3 * dim], 'float32', kernel(0)),
      qkvBias: this.qkvBias ? this.addWeight('qkv_bias', [3 * dim], 'float32', init('zeros', undefined)) : null,
      proj: this.addWeight('proj_kernel', [dim, dim], 'float32', kernel(1)),
      projBias: this.addWeight('proj_bias', [dim], 'float32', init('zeros', undefined)),
    };
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return tokenShape(inputShape, `MultiHeadSelfAttention '${this.name}'`);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      const x = exactlyOne(inputs, `MultiHeadSelfAttention '${this.name}'`);
      const w = this.weightsOf as NonNullable<MultiHeadSelfAttention['weightsOf']>;
      const [batch, tokens, dim] = x.shape as [number, number, number];
      if (x.rank !== 3 || dim !== w.proj.shape[0]) {
        throw new Error(`MultiHeadSelfAttention '${this.name}': expected tokens [batch, tokens, ${w.proj.shape[0]}], ` +
          `but received [${x.shape}].`);
      }
      const heads = this.numHeads;
      const headDim = dim / heads;
      const training = isTraining(kwargs);
      let qkv = matMul(reshape(x, [batch * tokens, dim]), w.qkv.read());
      if (w.qkvBias) qkv = add(qkv, w.qkvBias.read());
      // timm's reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4), with tensors of rank 4 at most (WebGL's shaders
      // do not compile every rank-5 op): columns [i·D, (i+1)·D) of qkv are q, k, v, each [B, N, H, hd] → [B, H, N, hd].
      // One split (its gradient one concat), not three slices (three pads and two adds of qkv's size going back).
      const parts = split(qkv, 3, 1);
      const part = (i: number) => transpose(reshape(parts[i] as Tensor, [batch, tokens, heads, headDim]), [0, 2, 1, 3]);
      const q = mul(part(0), headDim ** -0.5);
      let attention = softmax(matMul(q, part(1), false, true));
      if (training && this.attentionDropout > 0) attention = dropout(attention, this.attentionDropout);
      const joined = reshape(transpose(matMul(attention, part(2)), [0, 2, 1, 3]), [batch * tokens, dim]);
      let out = reshape(add(matMul(joined, w.proj.read()), w.projBias.read()), [batch, tokens, dim]);
      if (training && this.projectionDropout > 0) out = dropout(out, this.projectionDropout);
      return out;
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {...super.getConfig(), numHeads: this.numHeads, qkvBias: this.qkvBias, attentionDropout: this.attentionDropout,
      projectionDropout: this.projectionDropout, kernelInitializer: this.kernelInitializer,
      ...(this.seed !== undefined ? {seed: this.seed} : {})};
  }
}
serialization.registerClass(MultiHeadSelfAttention);

export interface ClassTokenPositionArgs extends LayerArgs {
  /** Prepend a learned class token (default true). */
  classToken?: boolean;
  /**
   * Whether the position embedding covers the class token too (default true, timm's ViT and DeiT); false adds it
   * to the patch tokens only, before the class token is prepended (timm's `no_embed_class`, DeiT III).
   */
  embedClass?: boolean;
  /** Seed of the position embedding's initializer (trunc normal, std 0.02; the class token starts at zeros). */
  seed?: number;
}

/**
 * The class token and learned position embedding of a ViT, on patch tokens
 * `[batch, patches, dim]`: `[cls; x] + pos` (`pos` of shape `[1, patches + 1,
 * dim]`), or `[cls; x + pos]` with `embedClass: false`, or `x + pos` without a
 * class token. Weights: `cls_token [1, 1, dim]`, `pos_embed [1, n, dim]`.
 */
export class ClassTokenPosition extends layers.Layer {
  static className = 'ClassTokenPosition';
  readonly classToken: boolean;
  readonly embedClass: boolean;
  readonly seed: number | undefined;
  private cls: LayerVariable | null = null;
  private pos: LayerVariable | null = null;

  constructor(args: ClassTokenPositionArgs = {}) {
    checkKeys(args, ['classToken', 'embedClass', 'seed', ...TFJS_LAYER_ARGS], 'ClassTokenPosition(args)');
    super(args);
    this.classToken = checkBoolean(optional(args.classToken, true, 'ClassTokenPosition: classToken'), 'ClassTokenPosition: classToken');
    this.embedClass = checkBoolean(optional(args.embedClass, true, 'ClassTokenPosition: embedClass'), 'ClassTokenPosition: embedClass');
    this.seed = checkSeed(args.seed, 'ClassTokenPosition: seed');
  }

  override build(inputShape: Shape | Shape[]): void {
    const [, patches, dim] = tokenShape(inputShape, `ClassTokenPosition '${this.name}'`);
    if (patches === null) throw new Error(`ClassTokenPosition '${this.name}': the number of patch tokens must be known.`);
    if (this.classToken) this.cls = this.addWeight('cls_token', [1, 1, dim], 'float32', init('zeros', undefined));
    const n = patches + (this.classToken && this.embedClass ? 1 : 0);
    this.pos = this.addWeight('pos_embed', [1, n, dim], 'float32', init('truncatedNormal', this.seed));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [batch, patches, dim] = tokenShape(inputShape, `ClassTokenPosition '${this.name}'`);
    return [batch, patches === null ? null : patches + (this.classToken ? 1 : 0), dim];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = exactlyOne(inputs, `ClassTokenPosition '${this.name}'`);
      const pos = (this.pos as LayerVariable).read();
      const patches = (pos.shape[1] as number) - (this.classToken && this.embedClass ? 1 : 0);
      if (x.rank !== 3 || x.shape[1] !== patches || x.shape[2] !== pos.shape[2]) {
        throw new Error(`ClassTokenPosition '${this.name}': expected tokens [batch, ${patches}, ${pos.shape[2]}], but received [${x.shape}].`);
      }
      if (!this.cls) return add(x, pos);
      const cls = tile((this.cls as LayerVariable).read(), [x.shape[0], 1, 1]);
      return this.embedClass ? add(concat([cls, x], 1), pos) : concat([cls, add(x, pos)], 1);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {...super.getConfig(), classToken: this.classToken, embedClass: this.embedClass,
      ...(this.seed !== undefined ? {seed: this.seed} : {})};
  }
}
serialization.registerClass(ClassTokenPosition);

export interface TokenPoolArgs extends LayerArgs {
  /** 'token' (default): the first token (the class token); 'avg': the mean of the tokens after the first `prefixTokens`. */
  pool?: 'token' | 'avg';
  /** Tokens before the patch tokens (1 with a class token; default 1 for 'token', 0 for 'avg'). */
  prefixTokens?: number;
}

/** The pooling of a ViT head: tokens `[batch, tokens, dim]` → `[batch, dim]`. */
export class TokenPool extends layers.Layer {
  static className = 'TokenPool';
  readonly pool: 'token' | 'avg';
  readonly prefixTokens: number;

  constructor(args: TokenPoolArgs = {}) {
    checkKeys(args, ['pool', 'prefixTokens', ...TFJS_LAYER_ARGS], 'TokenPool(args)');
    super(args);
    this.pool = checkOneOf(optional(args.pool, 'token', 'TokenPool: pool'), ['token', 'avg'] as const, 'TokenPool: pool');
    const prefix = optional(args.prefixTokens, this.pool === 'token' ? 1 : 0, 'TokenPool: prefixTokens');
    if (typeof prefix !== 'number' || !Number.isInteger(prefix) || prefix < 0) {
      throw new Error(`TokenPool: prefixTokens must be a non-negative integer, but received ${describe(prefix)}.`);
    }
    if (this.pool === 'token' && prefix < 1) throw new Error("TokenPool: pool 'token' takes the class token: prefixTokens must be at least 1.");
    this.prefixTokens = prefix;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [batch, , dim] = tokenShape(inputShape, `TokenPool '${this.name}'`);
    return [batch, dim];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = exactlyOne(inputs, `TokenPool '${this.name}'`);
      const [batch, tokens, dim] = x.shape as [number, number, number];
      if (x.rank !== 3 || tokens <= (this.pool === 'avg' ? this.prefixTokens : 0)) {
        throw new Error(`TokenPool '${this.name}': expected tokens [batch, more than ${this.prefixTokens}, dim], but received [${x.shape}].`);
      }
      if (this.pool === 'token') return reshape(slice(x, [0, 0, 0], [batch, 1, dim]), [batch, dim]);
      return mean(slice(x, [0, this.prefixTokens, 0], [batch, tokens - this.prefixTokens, dim]), 1);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {...super.getConfig(), pool: this.pool, prefixTokens: this.prefixTokens};
  }
}
serialization.registerClass(TokenPool);

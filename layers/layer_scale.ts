/**
 * ConvNeXt's `LayerScale` (keras.applications' own class), for models read
 * from Keras files: args, class and registration together.
 */
import {mul, serialization, tidy} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {initializers, layers} from '@tensorflow/tfjs-layers';
import type {LayerVariable} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {exactlyOne} from '../src/internal/tensors';
import {checkKeys, checkPositiveInt, describe, TFJS_LAYER_ARGS} from '../src/internal/validate';

export interface LayerScaleArgs extends LayerArgs {
  /** The initial value of every scale. */
  initValues: number;
  /** The number of channels (the last axis). */
  projectionDim: number;
}

/** ConvNeXt's `LayerScale`: `x · gamma`, one learned scale per channel (Touvron et al. 2021). */
export class LayerScale extends layers.Layer {
  static className = 'LayerScale';
  readonly initValues: number;
  readonly projectionDim: number;
  private gamma: LayerVariable | null = null;

  constructor(args: LayerScaleArgs) {
    checkKeys(args, ['initValues', 'projectionDim', ...TFJS_LAYER_ARGS], 'LayerScale(args)');
    super(args);
    if (typeof args?.initValues !== 'number' || !Number.isFinite(args.initValues)) {
      throw new Error(`LayerScale: initValues must be a finite number, but received ${describe(args?.initValues)}.`);
    }
    checkPositiveInt(args.projectionDim, 'LayerScale: projectionDim');
    this.initValues = args.initValues;
    this.projectionDim = args.projectionDim;
  }

  override build(): void {
    this.gamma = this.addWeight('gamma', [this.projectionDim], 'float32', initializers.constant({value: this.initValues}));
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tidy(() => mul(exactlyOne(inputs, `LayerScale '${this.name}'`), (this.gamma as LayerVariable).read()));
  }

  override getConfig(): serialization.ConfigDict {
    return {...super.getConfig(), initValues: this.initValues, projectionDim: this.projectionDim};
  }
}
serialization.registerClass(LayerScale);

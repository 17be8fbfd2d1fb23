import {clone, serialization, tidy, zerosLike} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {Shape} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import type {DropSettings} from '../src/internal/drop_decision';
import {DropLayerBase} from './drop_layer';
import {exactlyOne, isTraining} from '../src/internal/tensors';
import {checkInput, describe} from '../src/internal/validate';
import {keepMask, maskRows} from '../src/ops/drop_path';

/** Arguments of the {@link DropPath} layer: the drop settings and the usual layer args. */
export interface DropPathArgs extends LayerArgs, DropSettings {}

/**
 * Stochastic depth (DropPath) as a layer: during training, zeroes the whole
 * input of a sample with probability `rate` and scales kept samples by
 * 1/(1 − rate); outside training it is the identity. Place it on a residual
 * branch, just before the add.
 *
 * Huang et al. 2016, https://arxiv.org/abs/1603.09382.
 *
 * Input shape: any, rank ≥ 1 with the batch on axis 0 (float32).
 * Output shape: the same as the input.
 *
 * Training is read from `kwargs.training === true`, which `fit`, `fitDataset`
 * and `trainOnBatch` pass; `predict`, `evaluate` and validation do not.
 *
 * @example
 * const input = tf.input({shape: [8]});
 * const branch = tf.layers.dense({units: 8}).apply(input) as tf.SymbolicTensor;
 * const dropped = dp.layers.dropPath({rate: 0.2}).apply(branch) as tf.SymbolicTensor;
 * const out = tf.layers.add().apply([input, dropped]) as tf.SymbolicTensor;
 * const model = tf.model({inputs: input, outputs: out});
 */
export class DropPath extends DropLayerBase {
  /** Kept literal: minifiers rename classes. */
  static className = 'DropPath';


  constructor(args: DropPathArgs) {
    if (args === null || typeof args !== 'object') {
      throw new Error(`DropPath: args must be an object with a rate, but received ${describe(args)}.`);
    }
    super(args, 'DropPath');
    this.supportsMasking = true;
  }

  /** DropPath always multiplies by its mask. */
  get strategy(): 'mask' {
    return 'mask';
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const x = checkInput(exactlyOne(inputs, `DropPath '${this.name}'`), `DropPath '${this.name}': input`);
      const rate = this.drop.callRate();
      if (!isTraining(kwargs) || rate === 0) return clone(x);
      if (rate === 1) return zerosLike(x);
      return maskRows(x, keepMask(x.shape, rate, this.drop.mode, this.drop.scaleByKeep, this.drop.nextSeed()));
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {...this.drop.config(), ...super.getConfig()};
  }
}
serialization.registerClass(DropPath);

/**
 * Creates a {@link DropPath} layer.
 *
 * @example
 * const layer = dp.layers.dropPath({rate: 0.1});
 */
export function dropPathLayer(args: DropPathArgs): DropPath {
  return new DropPath(args);
}

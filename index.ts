/**
 * tfjs-drop-path: Stochastic Depth (DropPath) for TensorFlow.js.
 *
 * The public API, written by hand. Importing this module registers the
 * plugin's layer classes with `tf.serialization` (a side effect, so that
 * `tf.loadLayersModel` finds them).
 */
import {DropPath, dropPathLayer} from './layers/drop_path';
import {StochasticResidual, stochasticResidualLayer} from './layers/stochastic_residual';
import {Normalization} from './layers/normalization';
import {LayerScale} from './layers/layer_scale';
import {ClassTokenPosition, MultiHeadSelfAttention, TokenPool} from './layers/transformer';
import {FixedDropout, StochasticDepth} from './layers/keras_stochastic_depth';
import {KerasDropout} from './layers/keras_dropout';

export {dropPath} from './src/ops/drop_path';
export type {DropPathOptions} from './src/ops/drop_path';
export {DropPath} from './layers/drop_path';
export type {DropPathArgs} from './layers/drop_path';
export {StochasticResidual} from './layers/stochastic_residual';
export type {StochasticResidualArgs} from './layers/stochastic_residual';
export type {DropMode, DropSettings, DropStrategy} from './src/types';
export {version} from './src/version';

export {bottleneck, convBnAct, planResNet, resnet} from './models/builders';
export type {Activation, BlockOptions, BlockPlan, BlockType, BottleneckArgs, ConvBnActArgs, ResNetArgs, StageSpec, StemSpec} from './models/builders';
export {keepEvery, pruneBlocks} from './models/prune';
export {addDropPath, setDropPathRates} from './models/add_drop_path';
export {CONVNEXT_PRESETS, VIT_PRESETS, convnext, vit} from './models/transformers';
export type {ConvNeXtArgs, ViTArgs} from './models/transformers';
export type {AddDropPathArgs, AddDropPathResult, ResidualBlock} from './models/add_drop_path';
export type {KeepSpec, PruneArgs} from './models/prune';
export * as schedules from './src/schedules';
export * as timeSchedules from './src/schedules/time';
export type {TimeSchedule} from './src/schedules/time';
export {DropPathScheduler} from './models/scheduler';
export {AdamW} from './src/optimizers/adamw';
export {GroupedAdam, GroupedSGD} from './src/optimizers/grouped';
export type {GroupedAdamArgs, GroupedSGDArgs} from './src/optimizers/grouped';
export type {AdamWArgs, DecayExclusion} from './src/optimizers/adamw';
export * as optimizers from './src/optimizers';
export type {DropPathSchedulerArgs} from './models/scheduler';
export {dropPathSummary} from './models/summary';
export {trainingPaths, useFastBlocks, useKerasFrozenBatchNorm} from './models/fast_blocks';
export {Normalization} from './layers/normalization';
export {LayerScale} from './layers/layer_scale';
export {ClassTokenPosition, MultiHeadSelfAttention, TokenPool};
export type {ClassTokenPositionArgs, MultiHeadSelfAttentionArgs, TokenPoolArgs} from './layers/transformer';
export {FixedDropout, StochasticDepth} from './layers/keras_stochastic_depth';
export {KerasDropout} from './layers/keras_dropout';
export type {KerasDropoutArgs} from './layers/keras_dropout';
export type {TrainingPathReport, TrainingPathRow} from './models/fast_blocks';
export {setFastTraining, trainingPath} from './layers/training_paths';
export type {TrainingPath} from './layers/training_paths';
export type {DropPathRow, DropPathSummary} from './models/summary';
export type {DepthSchedule, DepthScheduleName} from './src/schedules';

/** Layer factories, in the style of `tf.layers`. */
export const layers = {
  dropPath: dropPathLayer,
  stochasticResidual: stochasticResidualLayer,
};

/** Every layer class this package registers with tf.serialization. */
export const registeredClasses = [DropPath, StochasticResidual, Normalization, LayerScale, StochasticDepth, FixedDropout,
  KerasDropout, MultiHeadSelfAttention, ClassTokenPosition, TokenPool] as const;

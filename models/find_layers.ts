import {layers} from '@tensorflow/tfjs-layers';

import {DropDecision} from '../src/internal/drop_decision';
import type {DropControls} from '../src/internal/drop_decision';
import {RateOverride} from '../src/internal/rate_override';
import {allNestedLayers} from '../src/internal/walk';

type Layer = InstanceType<typeof layers.Layer>;

/** A layer of this package that drops (DropPath, StochasticResidual): a layer with drop controls. */
export type DropLayer = Layer & DropControls;

/** Whether `layer` is a drop layer of this package (it owns a DropDecision). */
export function isDropLayer(layer: unknown): layer is DropLayer {
  return layer instanceof layers.Layer && (layer as {drop?: unknown}).drop instanceof DropDecision;
}

/**
 * A Keras stochastic-depth Dropout (EfficientNet's `Dropout(noise_shape=[None, 1, 1, 1])`, a third-party
 * `FixedDropout` or a `KerasDropout` of that form): one draw per sample, kept samples × 1/(1 − rate) — a drop path by another name.
 */
export type SampleDropout = Layer & {rate: number; noiseShape: (number | null)[]};

export function isSampleDropout(layer: unknown): layer is SampleDropout {
  if (!(layer instanceof layers.Layer)) return false;
  const cls = layer.getClassName();
  const noise = (layer as {noiseShape?: unknown}).noiseShape;
  return (cls === 'Dropout' || cls === 'FixedDropout' || cls === 'KerasDropout') && Array.isArray(noise) && noise.length >= 2 &&
    noise.slice(1).every((d) => d === 1);
}

type Kwargs = Parameters<Layer['call']>[1];
const dropoutOverrides = new WeakMap<SampleDropout, RateOverride>();

/**
 * The temporary rate a DropPathScheduler gives a Keras stochastic-depth Dropout, kept apart from its
 * `rate` as for this package's layers: while set (and its fit runs) the layer's calls drop at it, while
 * `rate` — what `getConfig` and `model.save()` store — stays the layer's own. The first use wraps the
 * layer's `call` once; with nothing scheduled the wrapper is tfjs' own call.
 */
export function dropoutRateOverride(layer: SampleDropout): RateOverride {
  let override = dropoutOverrides.get(layer);
  if (override) return override;
  const made = new RateOverride();
  override = made;
  const ownCall = layer.call;
  const target = layer as unknown as {rate: number};
  layer.call = function call(this: SampleDropout, inputs, kwargs: Kwargs) {
    const scheduled = made.get();
    if (scheduled === undefined) return ownCall.call(this, inputs, kwargs);
    const own = target.rate;
    target.rate = scheduled; // tfjs' Dropout reads this.rate in its (synchronous) call
    try {
      return ownCall.call(this, inputs, kwargs);
    } finally {
      target.rate = own;
    }
  };
  dropoutOverrides.set(layer, override);
  return override;
}

/** The rate the next training call of a drop layer or stochastic-depth Dropout uses. */
export function activeRateOf(layer: DropLayer | SampleDropout): number {
  if (isDropLayer(layer)) return layer.activeRate;
  return dropoutOverrides.get(layer)?.get() ?? layer.rate;
}

/** Every drop layer and Keras stochastic-depth Dropout under `root`, in depth order, each once. */
export function findStochasticDepthLayers(root: Layer): (DropLayer | SampleDropout)[] {
  return [root, ...allNestedLayers(root)].filter((l): l is DropLayer | SampleDropout => isDropLayer(l) || isSampleDropout(l));
}

/**
 * Every drop layer under `root` in depth order (the order of `layers`),
 * nested models and StochasticResidual branches included. Each layer once,
 * even when shared.
 */
export function findDropLayers(root: Layer): DropLayer[] {
  return [root, ...allNestedLayers(root)].filter(isDropLayer);
}

export {allNestedLayers};


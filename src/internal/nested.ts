/**
 * A layer that owns other layers, the way tfjs-layers' own `Wrapper` does
 * (that class is not exported): nest a child's config, and deserialize it
 * again — a class in `customObjects` first, then the class registry — with a
 * message that names the owning layer and the field when the config is not
 * one.
 */
import {serialization} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {layers} from '@tensorflow/tfjs-layers';

import {describe} from './validate';

type Layer = InstanceType<typeof layers.Layer>;

/** The `{className, config}` a child is saved as. */
export function nestConfig(layer: Layer): serialization.ConfigDict {
  return {className: layer.getClassName(), config: layer.getConfig()};
}

/** A registry entry: the class, and the static fromConfig tfjs-layers calls with the custom objects. */
type Entry = [serialization.SerializableConstructor<Layer>,
  (cls: serialization.SerializableConstructor<Layer>, config: serialization.ConfigDict,
    customObjects?: serialization.ConfigDict) => Layer];

/**
 * Builds the child saved as `nested` (`{className, config}`) in field `field`
 * of `owner`'s config. `customObjects` entries may be a class or a
 * `[class, fromConfig]` pair (as tfjs-layers keeps them).
 */
export function deserializeNested(nested: unknown, field: string, owner: string,
    customObjects: serialization.ConfigDict = {}): Layer {
  const where = (f = field) => `${owner}: config field '${f}'`;
  if (nested === null || typeof nested !== 'object' || Array.isArray(nested)) {
    throw new Error(`${where()} must be {className, config} of the ${field} layer, but received ${describe(nested)}.`);
  }
  const {className, config} = nested as {className?: unknown; config?: unknown};
  if (typeof className !== 'string') {
    throw new Error(`${where(`${field}.className`)} must be a layer class name, but received ${describe(className)}.`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new Error(`${where(`${field}.config`)} must be the ${field} layer's config object, but received ${describe(config)}.`);
  }
  const custom = customObjects[className] as unknown;
  const entry: Entry | undefined = typeof custom === 'function' ?
    [custom as Entry[0], (custom as Entry[0]).fromConfig as Entry[1]] :
    Array.isArray(custom) ? custom as unknown as Entry :
      serialization.SerializationMap.getMap().classNameMap[className] as Entry | undefined;
  if (!entry) {
    throw new Error(`${where(`${field}.className`)}: class ${describe(className)} is not registered (import the package ` +
      'that defines it before loading, or pass it in customObjects).');
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config as serialization.ConfigDict, customObjects);
}

/** Splits `weights` over `children` in order (each takes as many as it has), as a wrapper's setWeights must. */
export function setChildWeights(children: Layer[], weights: Tensor[], owner: string): void {
  const expected = children.reduce((n, c) => n + c.weights.length, 0);
  if (expected !== weights.length) {
    throw new Error(`${owner}: setWeights expected ${expected} tensors, but received ${weights.length}.`);
  }
  let offset = 0;
  for (const child of children) {
    const n = child.weights.length;
    child.setWeights(weights.slice(offset, offset + n));
    offset += n;
  }
}

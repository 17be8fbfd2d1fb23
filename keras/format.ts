/**
 * The Keras 3 format toolkit both directions of the bridge use: Keras' names
 * (snake_case classes, the weight groups of model.weights.h5), where a layer
 * class may come from, the drop fields of this package's layers, and the one
 * error that lists every layer a translation refuses. Pure data work.
 */

export type Json = Record<string, unknown>;

/** Keras' to_snake_case: the name of a layer's group in model.weights.h5. */
export function snakeCase(name: string): string {
  return name.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Keras' names for a container's layer groups in model.weights.h5, in layer
 * order: `<prefix>layers/<snake_case class>`, then `_1`, `_2`, … for the
 * same class again.
 */
export function h5GroupNamer(prefix: string): (cls: string) => string {
  const counters = new Map<string, number>();
  return (cls) => {
    const base = snakeCase(cls);
    const n = counters.get(base) ?? 0;
    counters.set(base, n + 1);
    return `${prefix}layers/${n === 0 ? base : `${base}_${n}`}`;
  };
}

export const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The drop fields of this package's DropPath / StochasticResidual config from
 * a (snake_case) config `src`: rate (default `src.rate`), mode, scale_by_keep
 * and a seed when it has one. Both directions and both layers use it.
 */
export function dropFields(src: Json, rate: unknown = src.rate): Json {
  return {rate, mode: src.mode ?? 'row', scale_by_keep: src.scale_by_keep ?? true,
    ...(Number.isSafeInteger(src.seed) ? {seed: src.seed} : {})};
}

/** Every layer a translation (either way) cannot carry over, with its class and why: refused together, in one error. */
export class Refusals {
  readonly items: string[] = [];
  add(layer: string, cls: string, why: string) {
    this.items.push(`'${layer}' (${cls}): ${why}`);
  }
  /** The one error: `${where}: ${what}; N layers cannot:` and the list. */
  error(where: string, what: string): Error {
    const n = this.items.length;
    return new Error(`${where}: ${what}; ${n} layer${n === 1 ? '' : 's'} cannot:\n  ${this.items.join('\n  ')}`);
  }
}

/**
 * Where each class of the stochastic-depth family may come from (module
 * prefixes): a layer of that class from anywhere else is someone's own
 * code, not the layer this package reads it as.
 */
const PLUGIN_ORIGINS: Record<string, string[]> = {
  Normalization: ['keras.layers', 'keras.src.layers'],
  LayerScale: ['keras.src.applications.convnext'],
  StochasticDepth: ['keras.src.applications.convnext', 'official.vision', 'keras_cv', 'tensorflow_addons'],
  DropPath: ['tfjs_drop_path', 'keras_cv', 'keras_hub'],
  StochasticResidual: ['tfjs_drop_path'],
  FixedDropout: ['efficientnet'],
};

const fromModule = (module: string, prefixes: string[]) => prefixes.some((p) => module === p || module.startsWith(`${p}.`));

/**
 * Why a layer config's `module` / `registered_name` say it is not the class
 * this translation would read it as (a subclass in a user's project named
 * like a built-in), or null. Files without the fields (older savers) pass.
 */
export function originProblem(layer: Json, cls: string): string | null {
  const module = layer.module;
  const registered = layer.registered_name;
  if (module !== undefined && module !== null && typeof module !== 'string') return `a module of ${JSON.stringify(module)}`;
  if (registered !== undefined && registered !== null && typeof registered !== 'string') {
    return `a registered_name of ${JSON.stringify(registered)}`;
  }
  const origins = PLUGIN_ORIGINS[cls];
  const says = `module ${JSON.stringify(module ?? null)}, registered_name ${JSON.stringify(registered ?? null)}`;
  if (origins) {
    const okModule = typeof module !== 'string' || fromModule(module, origins);
    const okName = typeof registered !== 'string' || registered === cls || registered.endsWith(`>${cls}`);
    return okModule && okName ? null : `a custom layer named like ${cls} (${says}); only ${cls} from ${origins.join(', ')} is read`;
  }
  const okModule = typeof module !== 'string' || module === 'keras' || module.startsWith('keras.');
  const okName = typeof registered !== 'string' || registered === cls;
  return okModule && okName ? null :
    `a custom layer named like Keras' ${cls} (${says}): its code is not Keras', so it is not read as Keras' ${cls}`;
}


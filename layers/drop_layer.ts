import {layers} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';

import {DropDecision} from '../src/internal/drop_decision';
import type {DropSettings} from '../src/internal/drop_decision';
import {checkKeys, TFJS_LAYER_ARGS} from '../src/internal/validate';
import type {DropMode} from '../src/internal/validate';

/** The drop settings every drop layer takes. */
export const DROP_KEYS = ['rate', 'mode', 'scaleByKeep', 'seed'] as const;

/**
 * What DropPath and StochasticResidual share: a `DropDecision` and the drop
 * controls delegated to it, defined once here.
 */
export abstract class DropLayerBase extends layers.Layer {
  /** The drop's settings, seed stream and decisions (the same in every form for one seed). */
  readonly drop: DropDecision;

  protected constructor(args: LayerArgs & DropSettings, className: string, ownKeys: readonly string[] = []) {
    // A misspelt setting (dropRat) must not leave the default in place: unknown keys are refused.
    if (args !== null && typeof args === 'object') {
      checkKeys(args, [...DROP_KEYS, ...ownKeys, ...TFJS_LAYER_ARGS], `${className}(args)`);
    }
    super(args);
    this.drop = new DropDecision(args, () => (this.drop ? `${className} '${this.name}'` : className));
  }

  /** Probability of dropping a sample's branch; writable (validated), takes effect on the next call, saved. */
  get rate(): number {
    return this.drop.rate;
  }

  set rate(rate: number) {
    this.drop.rate = rate;
  }

  /** 'row' or 'batch'; writable (validated), takes effect on the next call, saved. */
  get mode(): DropMode {
    return this.drop.mode;
  }

  set mode(mode: DropMode) {
    this.drop.mode = mode;
  }

  /** Whether kept samples are scaled by 1/(1 − rate); writable (validated), saved. */
  get scaleByKeep(): boolean {
    return this.drop.scaleByKeep;
  }

  set scaleByKeep(value: boolean) {
    this.drop.scaleByKeep = value;
  }

  /** The seed of the decision stream, fixed at construction (assigning it throws). */
  get seed(): number | undefined {
    return this.drop.seed;
  }

  set seed(_value: number | undefined) {
    throw new Error(`${this.getClassName()} '${this.name}': seed is fixed at construction (it seeds the layer's ` +
      'decision stream); create a new layer for another seed.');
  }

  /** The rate the next training call uses: a running DropPathScheduler's value, otherwise `rate`. */
  get activeRate(): number {
    return this.drop.activeRate;
  }
}

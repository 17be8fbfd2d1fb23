/**
 * The one source of drop decisions that DropPath and StochasticResidual share:
 * the writable, validated rate (and a scheduler's temporary one), mode,
 * scaleByKeep, the seed stream, the per-call keep decisions and the config
 * fields.
 *
 * Same seed, same decisions, in every form: each training call takes the next
 * seed s of the layer's stream. DropPath builds its mask on the device as the
 * classic form, `floor(keep + tf.randomUniform(shape, 0, 1, 'float32', s))`;
 * StochasticResidual needs its decisions on the host (to pick the rows to
 * compute) without reading a tensor back, so it runs the generator that
 * `tf.randomUniform` itself runs — seedrandom's alea, seeded with String(s) —
 * and rounds as the device does (float32 values, a float32 sum). With the same
 * seed and rate, DropPath, 'mask' and 'skip' drop exactly the same samples,
 * call after call.
 */
import seedrandom from 'seedrandom';

import {RateOverride} from './rate_override';
import {checkBoolean, checkMode, checkRate, checkSeed, optional} from './validate';
import type {DropMode, DropSettings} from '../types';

export type {DropSettings};

/** The drop settings a layer takes at construction. */
/** What code that inspects a model reads from any drop layer of this package. */
export interface DropControls {
  readonly name: string;
  rate: number;
  mode: DropMode;
  scaleByKeep: boolean;
  readonly seed: number | undefined;
  /** The rate the next training call uses: a running DropPathScheduler's value, otherwise `rate`. */
  readonly activeRate: number;
  /** 'skip' for StochasticResidual blocks that skip; 'mask' for everything that multiplies. */
  readonly strategy: 'skip' | 'mask';
  /** The shared decision object itself. */
  readonly drop: DropDecision;
}

/** The keep decisions of one call: 1 draw ('batch') or one per sample ('row'), and the call's seed. */
export interface CallDecisions {
  seed: number;
  keep: boolean[];
}

export class DropDecision {
  private currentRate: number;
  private currentMode: DropMode;
  private currentScaleByKeep: boolean;
  private readonly fixedSeed: number | undefined;
  private readonly stream: () => number;
  /** A DropPathScheduler's temporary rate, kept apart from `rate` (never saved; lapses when its fit ends). */
  readonly rateOverride = new RateOverride();

  /** `owner` names the layer in messages (read when a message is made, so a later name is used). */
  constructor(args: DropSettings, private readonly owner: () => string) {
    this.currentRate = checkRate(args.rate, `${owner()}: rate`);
    this.currentMode = checkMode(optional(args.mode, 'row', `${owner()}: mode`), `${owner()}: mode`);
    this.currentScaleByKeep = checkBoolean(optional(args.scaleByKeep, true, `${owner()}: scaleByKeep`),
      `${owner()}: scaleByKeep`);
    this.fixedSeed = checkSeed(args.seed, `${owner()}: seed`);
    // The stream of per-call seeds: alea (as tf.randomUniform uses) seeded with the
    // layer's seed alone, so two layers with one seed drop in lockstep.
    const alea = seedrandom.alea(String(this.fixedSeed ?? Math.random()));
    this.stream = () => alea.int32() >>> 0;
  }

  get rate(): number {
    return this.currentRate;
  }

  set rate(rate: number) {
    this.currentRate = checkRate(rate, `${this.owner()}: rate`);
  }

  get mode(): DropMode {
    return this.currentMode;
  }

  set mode(mode: DropMode) {
    this.currentMode = checkMode(mode, `${this.owner()}: mode`);
  }

  get scaleByKeep(): boolean {
    return this.currentScaleByKeep;
  }

  set scaleByKeep(value: boolean) {
    this.currentScaleByKeep = checkBoolean(value, `${this.owner()}: scaleByKeep`);
  }

  get seed(): number | undefined {
    return this.fixedSeed;
  }

  get activeRate(): number {
    return this.rateOverride.get() ?? this.currentRate;
  }

  /** The active rate, validated again (a scheduler or a JavaScript caller may have set anything). */
  callRate(): number {
    return checkRate(this.activeRate, `${this.owner()}: rate`);
  }

  /** The seed of the next training call's draw. */
  nextSeed(): number {
    return this.stream();
  }

  /** The next call's decisions on the host, for a batch of `batch` samples. */
  next(batch: number, rate: number): CallDecisions {
    const seed = this.nextSeed();
    return {seed, keep: keepFromSeed(seed, this.currentMode === 'batch' ? 1 : batch, rate)};
  }

  /** The config fields of the drop (seed only when set). */
  config(): {rate: number; mode: DropMode; scaleByKeep: boolean; seed?: number} {
    return {rate: this.currentRate, mode: this.currentMode, scaleByKeep: this.currentScaleByKeep,
      ...(this.fixedSeed !== undefined ? {seed: this.fixedSeed} : {})};
  }
}

/**
 * The decisions `floor(keep + tf.randomUniform([count], 0, 1, 'float32', seed))`
 * makes, computed on the host: the same alea stream, its values rounded to
 * float32, the sum rounded to float32 as the device adds.
 */
export function keepFromSeed(seed: number, count: number, rate: number): boolean[] {
  const alea = seedrandom.alea(String(seed));
  const keep = Math.fround(1 - rate);
  const out = new Array<boolean>(count);
  for (let i = 0; i < count; i++) out[i] = Math.fround(Math.fround(alea()) + keep) >= 1;
  return out;
}

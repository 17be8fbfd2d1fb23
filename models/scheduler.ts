import {Callback} from '@tensorflow/tfjs-layers';
import type {LayersModel, Logs} from '@tensorflow/tfjs-layers';
import type {Container} from '@tensorflow/tfjs-layers/dist/engine/container';

import {dropoutRateOverride, findStochasticDepthLayers, isDropLayer} from './find_layers';
import type {RateOverride} from '../src/internal/rate_override';
import {checkKeys, checkOneOf, checkRate, describe, optional} from '../src/internal/validate';
import type {TimeSchedule} from '../src/schedules/time';

/** Arguments of {@link DropPathScheduler}. */
export interface DropPathSchedulerArgs {
  /**
   * The rate of the model's deepest (highest-rate) drop layer as a function
   * of progress: `(t, batch) => rate`, t the epoch (0-based; fractional with
   * per-batch updates). Built-ins: `timeSchedules.constant`, `linearWarmup`,
   * `early`, `late`.
   */
  schedule: TimeSchedule;
  /** Update at the start of every 'epoch' (default) or every 'batch'. */
  updateEvery?: 'epoch' | 'batch';
}

/**
 * A `tf.Callback` for `model.fit` / `fitDataset` that sets the drop rate of
 * every DropPath and StochasticResidual layer in the model (nested models
 * included), and of Keras' stochastic-depth Dropouts (noise shape
 * [null, 1, …, 1], as a loaded EfficientNet has them), as training goes on —
 * without rebuilding or recompiling.
 *
 * The schedule gives the rate of the deepest (highest-rate) layer; every
 * other layer keeps its proportion to it as built, so a linear / linspace /
 * uniform depth profile survives. If every layer was built at rate 0, all take
 * the schedule's value. The current value is added to the epoch logs as
 * `dropPathRate`, so it appears in `history.history.dropPathRate`.
 *
 * The scheduled rates are temporary: each layer keeps them apart from its own
 * `rate` (read them as `layer.activeRate`), `model.save()` stores the layers'
 * own rates at any moment, and the scheduled ones lapse when the fit ends —
 * also when it ends by an exception. One scheduler serves one fit at a time:
 * given to a second model's fit while the first still runs, it refuses.
 *
 * @example
 * await model.fit(xs, ys, {epochs: 10, callbacks: [
 *   new dp.DropPathScheduler({schedule: dp.timeSchedules.early(0.2, 3)})]});
 */
export class DropPathScheduler extends Callback {
  readonly schedule: TimeSchedule;
  readonly updateEvery: 'epoch' | 'batch';
  /** The value the schedule gave last (the deepest layer's rate). */
  currentRate: number | undefined;
  private targets: {override: RateOverride; share: number}[] = [];
  private epoch = 0;
  /** The fit this scheduler serves: its model, and whether that fit still runs. */
  private serving: {model: LayersModel; live: () => boolean} | null = null;

  constructor(args: DropPathSchedulerArgs) {
    super();
    if (args !== null && typeof args === 'object') checkKeys(args, ['schedule', 'updateEvery'], 'DropPathScheduler(args)');
    if (args === null || typeof args !== 'object' || typeof args.schedule !== 'function') {
      throw new Error('DropPathScheduler: schedule must be a function (t, batch) => rate, such as ' +
        `timeSchedules.early(0.1, 5), but received ${describe(args?.schedule)}.`);
    }
    const every = checkOneOf(optional(args.updateEvery, 'epoch', 'DropPathScheduler: updateEvery'), ['epoch', 'batch'] as const,
      'DropPathScheduler: updateEvery');
    this.schedule = args.schedule;
    this.updateEvery = every;
  }

  override setModel(model: Container): void {
    const busy = this.serving;
    if (busy && busy.model !== model && busy.live()) {
      throw new Error(`DropPathScheduler: this scheduler is already scheduling model '${busy.model.name}', whose fit ` +
        `has not ended; give model '${model.name}' its own DropPathScheduler.`);
    }
    super.setModel(model);
  }

  override async onTrainBegin(): Promise<void> {
    const model = this.model;
    if (!model) throw new Error('DropPathScheduler: no model (use it in model.fit or model.fitDataset callbacks).');
    const found = findStochasticDepthLayers(model);
    if (found.length === 0) {
      throw new Error(`DropPathScheduler: model '${model.name}' has no DropPath, StochasticResidual or stochastic-depth ` +
        'Dropout (noise shape [null, 1, …, 1]) to schedule; addDropPath(model, {rate}) gives it one per residual block.');
    }
    // LayersModel.fit sets a new History and isTraining before onTrainBegin, and clears
    // isTraining in a finally: together they say whether this fit still runs.
    const history = model.history;
    const live = () => (model as unknown as {isTraining: boolean}).isTraining === true && model.history === history;
    this.serving = {model, live};
    const max = Math.max(...found.map((l) => l.rate));
    this.targets = found.map((layer) => ({override: isDropLayer(layer) ? layer.drop.rateOverride : dropoutRateOverride(layer),
      share: max > 0 ? layer.rate / max : 1}));
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.epoch = epoch;
    this.apply(epoch, 0);
  }

  override async onBatchBegin(batch: number): Promise<void> {
    if (this.updateEvery !== 'batch') return;
    this.apply(this.epoch + batch / this.stepsPerEpoch(), batch);
  }

  override async onEpochEnd(_epoch: number, logs?: Logs): Promise<void> {
    if (logs && this.currentRate !== undefined) logs.dropPathRate = this.currentRate;
  }

  override async onTrainEnd(): Promise<void> {
    for (const t of this.targets) t.override.clear();
    this.targets = [];
    this.serving = null;
  }

  /** Batches per epoch as fit reports them (steps, or samples / batchSize); Infinity if unknown. */
  private stepsPerEpoch(): number {
    const p = (this.params ?? {}) as {steps?: number | null; samples?: number | null; batchSize?: number | null};
    if (typeof p.steps === 'number' && p.steps > 0) return p.steps;
    if (typeof p.samples === 'number' && typeof p.batchSize === 'number' && p.batchSize > 0) {
      return Math.ceil(p.samples / p.batchSize);
    }
    return Infinity;
  }

  private apply(t: number, batch: number): void {
    const serving = this.serving;
    if (!serving) return;
    const rate = checkRate(this.schedule(t, batch), `DropPathScheduler: the schedule's rate at epoch ${t}`);
    this.currentRate = rate;
    for (const target of this.targets) target.override.set(rate * target.share, serving.live);
  }
}

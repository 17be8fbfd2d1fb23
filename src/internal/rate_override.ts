/**
 * A temporary drop rate that a {@link DropPathScheduler} sets for the length of
 * one `fit`. It is kept apart from a layer's own `rate` (the one the user set or
 * the model was built with, which `getConfig` saves), and it lapses by itself
 * when the fit that set it is over — however it ended, by an exception too —
 * because `live` is asked on every read.
 */
export class RateOverride {
  private current: {rate: number; live: () => boolean} | null = null;

  /** Overrides the rate while `live()` answers true. */
  set(rate: number, live: () => boolean): void {
    this.current = {rate, live};
  }

  clear(): void {
    this.current = null;
  }

  /** The overriding rate while its fit runs, else undefined. */
  get(): number | undefined {
    if (this.current && !this.current.live()) this.current = null;
    return this.current?.rate;
  }
}

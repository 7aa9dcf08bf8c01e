/**
 * Time-decayed average of the gaps between finished items.
 *
 * A sample is the time from the previous finish (or the anchor, for the first one) to a finish.
 * Gaps rather than per-item start-to-finish times are measured on purpose: with several items in
 * flight the gap is what the wall clock will see, and items reported finished without ever being
 * started still yield a real sample instead of a zero.
 *
 * The sums are kept as they stood at the last finish, so a read only scales them by the decay
 * since then and never mutates anything.
 */
export class GapEstimator {
  readonly #halfLifeMs: number;
  #anchor: number | undefined;
  #lastFinish: number | undefined;
  /** Σ wᵢ·dᵢ and Σ wᵢ as of `#lastFinish`. */
  #weightedSum = 0;
  #weightTotal = 0;
  #samples = 0;

  constructor(halfLifeMs: number) {
    this.#halfLifeMs = halfLifeMs;
  }

  /** Number of samples taken so far. */
  get samples(): number {
    return this.#samples;
  }

  /** Sets where the first gap starts, unless a gap has already been measured. */
  anchor(at: number): void {
    if (this.#lastFinish === undefined && this.#anchor === undefined) this.#anchor = at;
  }

  /** Records a finish at `at`; `fallbackAnchor` starts the first gap when nothing was anchored. */
  record(at: number, fallbackAnchor: number): void {
    const previous = this.#lastFinish ?? this.#anchor ?? fallbackAnchor;
    const gap = Math.max(0, at - previous);
    if (this.#lastFinish === undefined) {
      this.#weightedSum = gap;
      this.#weightTotal = 1;
    } else {
      const decay = this.#decay(Math.max(0, at - this.#lastFinish));
      this.#weightedSum = this.#weightedSum * decay + gap;
      this.#weightTotal = this.#weightTotal * decay + 1;
    }
    this.#lastFinish = Math.max(at, this.#lastFinish ?? at);
    this.#samples += 1;
  }

  /**
   * Estimated milliseconds per item at `now`, or `null` before the first sample. With
   * `countIdle` false the open gap is ignored.
   *
   * While nothing finishes, the open gap is a lower bound on the next sample; once it is longer
   * than the average it joins as a sample of weight 1 taken now, while the older samples keep
   * losing weight, so the estimate rises continuously and tends to the idle time itself.
   */
  msPerItem(now: number, countIdle = true): number | null {
    if (this.#lastFinish === undefined) return null;
    const closed = this.#weightedSum / this.#weightTotal;
    const open = Math.max(0, now - this.#lastFinish);
    if (!countIdle || open <= closed) return closed;
    const decay = this.#decay(open);
    return (this.#weightedSum * decay + open) / (this.#weightTotal * decay + 1);
  }

  #decay(ms: number): number {
    return 2 ** (-ms / this.#halfLifeMs);
  }
}

/**
 * The longest delay a Node timer holds: 2,147,483,647 ms, about 24.8 days. `setTimeout` and
 * `setInterval` with more fire after 1 ms, so longer periods are cut to this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

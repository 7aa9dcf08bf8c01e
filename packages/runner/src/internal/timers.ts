/**
 * The longest delay a Node timer holds: 2,147,483,647 ms, about 24.8 days. `setTimeout` with
 * more fires after 1 ms (with a TimeoutOverflowWarning), so longer durations are handled apart.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

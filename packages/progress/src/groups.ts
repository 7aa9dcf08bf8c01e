import { describeValue } from './internal/describe.ts';
import type { GroupOf } from './tracker.ts';

/**
 * A {@link GroupOf} for dotted hierarchical ids: every leading part up to `levels` parts names a
 * group, and the id itself never does. With `levels: 2`, `P1.M2.T3.S4` belongs to `P1` and
 * `P1.M2`; with the default, also to `P1.M2.T3`.
 *
 * @example
 * ```ts
 * new ProgressTracker({ total: 12, groupOf: prefixGroups({ levels: 2 }) });
 * ```
 */
export function prefixGroups(options: { separator?: string; levels?: number } = {}): GroupOf {
  const separator = options.separator ?? '.';
  const levels = options.levels ?? Number.POSITIVE_INFINITY;
  if (typeof separator !== 'string' || separator.length === 0) {
    throw new TypeError(
      `prefixGroups: expected a non-empty separator, got ${describeValue(separator)}`,
    );
  }
  if (levels !== Number.POSITIVE_INFINITY && (!Number.isInteger(levels) || levels < 1)) {
    throw new TypeError(
      `prefixGroups: expected levels to be an integer >= 1, got ${describeValue(levels)}`,
    );
  }
  return (id) => {
    const parts = id.split(separator);
    const groups: string[] = [];
    for (let size = 1; size < parts.length && size <= levels; size += 1) {
      groups.push(parts.slice(0, size).join(separator));
    }
    return groups;
  };
}

import { ID_FORM_TEXT, ID_FORMS } from './ids.ts';
import { describe } from './internal/describe.ts';
import { type FlatBacklog, flattenBacklog, nodePath } from './internal/flatten.ts';
import { COMPLETE, OBSOLETE, rollUpStatus, STATUS_INDEX } from './internal/roll-up.ts';
import { type BacklogIssue, formatPath, type GraphIssueCode } from './issues.ts';
import { type Backlog, IN_FLIGHT_STATUSES, STATUSES, type Subtask } from './schema.ts';

/**
 * Finds every graph problem of a schema-valid backlog, not just the first: duplicate ids, ids that
 * do not have their level's form or do not extend their parent's id, dependencies on unknown ids,
 * self-dependencies and dependency cycles (errors), and in-flight leftovers, Complete containers
 * with unfinished children, repeated dependencies and an unknown `currentItemId` (warnings).
 * See {@link GraphIssueCode} for what each code means.
 *
 * Runs in one O(items + dependencies) pass; cycle detection is iterative, so a dependency chain
 * of any length is fine. Issues come in document order, each with the path of the offending field.
 *
 * @param backlog - a value that passed {@link BacklogSchema} (for example from {@link parseBacklog}).
 * @returns every issue found; an empty array for a sound backlog.
 *
 * @example
 * ```ts
 * const errors = checkBacklog(backlog).filter((issue) => issue.severity === 'error');
 * ```
 */
export function checkBacklog(backlog: Backlog): BacklogIssue[] {
  if (typeof backlog !== 'object' || backlog === null || !Array.isArray(backlog.backlog)) {
    throw new TypeError(
      `checkBacklog expected a backlog object with a "backlog" array, got ${describe(backlog)}`,
    );
  }
  const flat = flattenBacklog(backlog);
  const found: Found[] = [];
  const report = (node: number, issue: BacklogIssue) => {
    found.push({ rank: node, seq: found.length, issue });
  };
  const byId = checkItems(flat, report);
  const graph = checkDependencies(flat, byId, report);
  findCycles(flat, graph, report);

  const current = backlog.currentItemId;
  if (typeof current === 'string' && !byId.has(current)) {
    report(flat.count, {
      code: 'UNKNOWN_CURRENT_ITEM',
      severity: 'warning',
      path: ['currentItemId'],
      message: `currentItemId ${JSON.stringify(current)} is not an item of this backlog; set it to an existing id or null`,
    });
  }
  found.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
  return found.map((entry) => entry.issue);
}

interface Found {
  /** Document position of the item the issue is about, so issues come out in reading order. */
  rank: number;
  seq: number;
  issue: BacklogIssue;
}

type Report = (node: number, issue: BacklogIssue) => void;

/** The dependency graph: containment edges (container -> child) plus dependency edges, as CSR. */
interface Graph {
  edgeStart: Int32Array;
  targets: Int32Array;
  /** For a dependency edge, its index in the subtask's `dependencies`; -1 for containment. */
  depIndex: Int32Array;
}

const LEVEL_NAMES = ['Phase', 'Milestone', 'Task', 'Subtask'] as const;
const IN_FLIGHT: ReadonlySet<string> = new Set(IN_FLIGHT_STATUSES);

function checkItems(flat: FlatBacklog, report: Report): Map<string, number> {
  const { count, ids, level, parent, items } = flat;
  const byId = new Map<string, number>();
  const wellFormed = new Uint8Array(count);
  const counts = new Int32Array(STATUSES.length);
  for (let node = 0; node < count; node++) {
    const id = ids[node]!;
    const lvl = level[node]!;
    const first = byId.get(id);
    if (first === undefined) byId.set(id, node);
    else {
      report(node, {
        code: 'DUPLICATE_ID',
        severity: 'error',
        path: [...nodePath(flat, node), 'id'],
        itemId: id,
        message: `id ${JSON.stringify(id)} is already used by the ${LEVEL_NAMES[level[first]!]} at ${formatPath(nodePath(flat, first))}; every id must be unique`,
      });
    }

    if (ID_FORMS[lvl]!.test(id)) {
      wellFormed[node] = 1;
      const up = parent[node]!;
      if (up >= 0 && wellFormed[up] === 1) {
        const parentId = ids[up]!;
        if (id.slice(0, id.lastIndexOf('.')) !== parentId) {
          const last = id.slice(id.lastIndexOf('.') + 1, id.lastIndexOf('.') + 2);
          report(node, {
            code: 'ID_PARENT_MISMATCH',
            severity: 'error',
            path: [...nodePath(flat, node), 'id'],
            itemId: id,
            message: `${LEVEL_NAMES[lvl]} id ${JSON.stringify(id)} does not extend its parent's id ${JSON.stringify(parentId)}; expected ${parentId}.${last}<n>`,
          });
        }
      }
    } else {
      report(node, {
        code: 'ID_LEVEL_MISMATCH',
        severity: 'error',
        path: [...nodePath(flat, node), 'id'],
        itemId: id,
        message: `${LEVEL_NAMES[lvl]} id ${JSON.stringify(id)} does not have the ${LEVEL_NAMES[lvl]} form ${ID_FORM_TEXT[lvl]} (numbers from 1)`,
      });
    }

    const item = items[node]!;
    const inFlight = IN_FLIGHT.has(item.status);
    if (lvl === 3) {
      if (inFlight) {
        report(node, {
          code: 'IN_FLIGHT_STATUS',
          severity: 'warning',
          path: [...nodePath(flat, node), 'status'],
          itemId: id,
          message: `${id} is ${item.status}, a status a runner sets only while it works on a subtask; a run was interrupted, so set it back to Planned to run it again`,
        });
      }
      continue;
    }
    counts.fill(0);
    let total = 0;
    for (let child = node + 1; child < flat.end[node]!; child = flat.end[child]!) {
      counts[STATUS_INDEX.get(items[child]!.status)!]!++;
      total++;
    }
    // A container's Implementing is the roll-up of partly done children; any other in-flight
    // status, or one its children do not explain, was left behind by an interrupted run.
    const derived = total > 0 ? STATUSES[rollUpStatus(counts, 0, total)] : undefined;
    if (inFlight && derived !== item.status) {
      report(node, {
        code: 'IN_FLIGHT_STATUS',
        severity: 'warning',
        path: [...nodePath(flat, node), 'status'],
        itemId: id,
        message: `${id} is ${item.status}, but its children roll up to ${derived ?? 'nothing (it has none)'}; a run was interrupted, so set it to ${derived ?? 'Planned'}`,
      });
    }
    if (item.status === 'Complete' && counts[COMPLETE]! + counts[OBSOLETE]! < total) {
      const unfinished: string[] = [];
      for (let child = node + 1; child < flat.end[node]!; child = flat.end[child]!) {
        const status = items[child]!.status;
        if (status !== 'Complete' && status !== 'Obsolete') {
          unfinished.push(`${ids[child]} (${status})`);
        }
      }
      const shown = unfinished.slice(0, 5).join(', ');
      const more = unfinished.length > 5 ? ` and ${unfinished.length - 5} more` : '';
      report(node, {
        code: 'COMPLETE_PARENT_UNFINISHED_CHILD',
        severity: 'warning',
        path: [...nodePath(flat, node), 'status'],
        itemId: id,
        message: `${id} is Complete but ${unfinished.length === 1 ? 'its child is' : 'these children are'} not finished: ${shown}${more}`,
      });
    }
  }
  return byId;
}

function checkDependencies(flat: FlatBacklog, byId: Map<string, number>, report: Report): Graph {
  const { count, level, items, ids } = flat;
  const edgeStart = new Int32Array(count + 1);
  const targets: number[] = [];
  const depIndex: number[] = [];
  for (let node = 0; node < count; node++) {
    edgeStart[node] = targets.length;
    if (level[node] !== 3) {
      for (let child = node + 1; child < flat.end[node]!; child = flat.end[child]!) {
        targets.push(child);
        depIndex.push(-1);
      }
      continue;
    }
    const id = ids[node]!;
    const deps = (items[node] as Subtask).dependencies;
    // Dependency lists are short; a Set pays off only for long ones.
    const seen = deps.length > 16 ? new Set<string>() : undefined;
    for (let k = 0; k < deps.length; k++) {
      const dep = deps[k]!;
      const repeated = seen ? seen.has(dep) : k > 0 && deps.lastIndexOf(dep, k - 1) !== -1;
      seen?.add(dep);
      if (repeated) {
        report(node, {
          code: 'DUPLICATE_DEPENDENCY',
          severity: 'warning',
          path: [...nodePath(flat, node), 'dependencies', k],
          itemId: id,
          message: `${id} lists ${JSON.stringify(dep)} more than once in its dependencies`,
        });
        continue;
      }
      if (dep === id) {
        report(node, {
          code: 'SELF_DEPENDENCY',
          severity: 'error',
          path: [...nodePath(flat, node), 'dependencies', k],
          itemId: id,
          message: `${id} depends on itself, so it can never become ready; remove ${JSON.stringify(dep)} from its dependencies`,
        });
        continue;
      }
      const target = byId.get(dep);
      if (target === undefined) {
        report(node, {
          code: 'UNKNOWN_DEPENDENCY',
          severity: 'error',
          path: [...nodePath(flat, node), 'dependencies', k],
          itemId: id,
          message: `${id} depends on ${JSON.stringify(dep)}, which is not an item of this backlog`,
        });
        continue;
      }
      targets.push(target);
      depIndex.push(k);
    }
  }
  edgeStart[count] = targets.length;
  return { edgeStart, targets: Int32Array.from(targets), depIndex: Int32Array.from(depIndex) };
}

/**
 * Reports one cycle for every strongly connected component of the graph. Containment edges make a
 * dependency on a container mean "on every subtask under it", so a loop through a container (or a
 * subtask depending on its own ancestor) is found too. Tarjan's algorithm runs with an explicit
 * stack so 100,000-long chains do not overflow the call stack.
 */
function findCycles(flat: FlatBacklog, graph: Graph, report: Report): void {
  const { count, level, ids } = flat;
  const { edgeStart, targets, depIndex } = graph;
  const index = new Int32Array(count).fill(-1);
  const low = new Int32Array(count);
  const comp = new Int32Array(count).fill(-1);
  const onStack = new Uint8Array(count);
  const stack = new Int32Array(count);
  const callNode = new Int32Array(count);
  const callEdge = new Int32Array(count);
  const compSize: number[] = [];
  const compSubtasks: number[] = [];
  let sp = 0;
  let counter = 0;

  for (let root = 0; root < count; root++) {
    if (index[root] !== -1) continue;
    let cp = 0;
    index[root] = low[root] = counter++;
    stack[sp++] = root;
    onStack[root] = 1;
    callNode[cp] = root;
    callEdge[cp++] = edgeStart[root]!;
    while (cp > 0) {
      const v = callNode[cp - 1]!;
      const e = callEdge[cp - 1]!;
      if (e < edgeStart[v + 1]!) {
        callEdge[cp - 1] = e + 1;
        const w = targets[e]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack[sp++] = w;
          onStack[w] = 1;
          callNode[cp] = w;
          callEdge[cp++] = edgeStart[w]!;
        } else if (onStack[w] === 1 && index[w]! < low[v]!) {
          low[v] = index[w]!;
        }
        continue;
      }
      cp--;
      if (low[v] === index[v]) {
        const c = compSize.length;
        let size = 0;
        let subtasks = 0;
        let w: number;
        do {
          w = stack[--sp]!;
          onStack[w] = 0;
          comp[w] = c;
          size++;
          if (level[w] === 3) subtasks++;
        } while (w !== v);
        compSize.push(size);
        compSubtasks.push(subtasks);
      }
      if (cp > 0) {
        const u = callNode[cp - 1]!;
        if (low[v]! < low[u]!) low[u] = low[v]!;
      }
    }
  }

  const reported = new Uint8Array(compSize.length);
  const seenStamp = new Int32Array(count).fill(-1);
  const prev = new Int32Array(count);
  const queue = new Int32Array(count);
  for (let start = 0; start < count; start++) {
    const c = comp[start]!;
    // The first subtask of a component in document order starts its cycle: containment alone
    // cannot close a loop, so every cyclic component holds a subtask with an edge inside it.
    if (compSize[c]! < 2 || reported[c] === 1 || level[start] !== 3) continue;
    reported[c] = 1;

    let head = 0;
    let tail = 0;
    let last = -1;
    queue[tail++] = start;
    seenStamp[start] = c;
    search: while (head < tail) {
      const u = queue[head++]!;
      for (let e = edgeStart[u]!; e < edgeStart[u + 1]!; e++) {
        const w = targets[e]!;
        if (comp[w] !== c) continue;
        if (w === start) {
          last = u;
          break search;
        }
        if (seenStamp[w] !== c) {
          seenStamp[w] = c;
          prev[w] = u;
          queue[tail++] = w;
        }
      }
    }
    const loop: number[] = [];
    for (let at = last; at !== start; at = prev[at]!) loop.push(at);
    loop.push(start);
    loop.reverse();
    loop.push(start);

    // Keep a container only where a dependency names it; the containers passed on the way down
    // to a subtask add nothing a reader needs.
    const shown: number[] = [start];
    for (let i = 1; i < loop.length; i++) {
      if (level[loop[i]!] === 3 || level[loop[i - 1]!] === 3) shown.push(loop[i]!);
    }
    const cycle = shown.map((node) => ids[node]!);
    let chain = cycle[0]!;
    for (let i = 1; i < shown.length; i++) {
      const verb = level[shown[i - 1]!] === 3 ? 'depends on' : 'contains';
      chain += `${i === 1 ? ' ' : ', which '}${verb} ${cycle[i]}`;
    }
    const onLoop = new Set(shown.filter((node) => level[node] === 3)).size;
    const others = compSubtasks[c]! - onLoop;
    const tangled =
      others > 0
        ? ` (${others} more subtask${others === 1 ? ' is' : 's are'} caught in loops with these)`
        : '';

    let k = 0;
    for (let e = edgeStart[start]!; e < edgeStart[start + 1]!; e++) {
      if (targets[e] === loop[1]) {
        k = depIndex[e]!;
        break;
      }
    }
    report(start, {
      code: 'DEPENDENCY_CYCLE',
      severity: 'error',
      path: [...nodePath(flat, start), 'dependencies', k],
      itemId: ids[start]!,
      cycle,
      message: `dependency cycle: ${chain}; none of these can become ready until one dependency is removed${tangled}`,
    });
  }
}

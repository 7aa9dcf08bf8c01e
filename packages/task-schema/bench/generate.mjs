// Deterministic generator of realistic backlogs for benchmarks. Plain ESM so any bench script can
// import it without a TypeScript loader.

const VERBS = ['Implement', 'Add', 'Wire', 'Validate', 'Refactor', 'Document', 'Test', 'Harden'];
const NOUNS = [
  'session loader',
  'status updater',
  'retry policy',
  'config parser',
  'artifact cache',
  'progress reporter',
  'signal handler',
  'dependency resolver',
  'schema migration',
  'file lock',
];
const AREAS = ['Foundation', 'Persistence', 'Execution', 'Recovery', 'Reporting', 'Delivery'];
const POINTS = [0.5, 1, 1, 1, 2, 2, 3, 5];

/**
 * Builds a backlog with exactly `subtaskCount` subtasks: 3-5 milestones per phase, 3-6 tasks per
 * milestone, 2-6 subtasks per task, each subtask with a four-section `context_scope` of roughly a
 * kilobyte (like the real files), fractional story points, and dependencies on the previous
 * subtask, on subtasks of earlier tasks and on whole earlier tasks or milestones. Dependencies only
 * point backwards, so the graph has no cycles.
 *
 * @param {number} subtaskCount
 * @param {{ seed?: number, status?: string }} [options] `status` is given to every item (default Planned).
 * @returns {{ backlog: object[] }}
 */
export function generateBacklog(subtaskCount, options = {}) {
  if (!Number.isInteger(subtaskCount) || subtaskCount < 0) {
    throw new TypeError(`generateBacklog expected a subtask count, got ${subtaskCount}`);
  }
  const random = mulberry32(options.seed ?? 1);
  const status = options.status ?? 'Planned';
  const pick = (list) => list[Math.floor(random() * list.length)];
  const between = (low, high) => low + Math.floor(random() * (high - low + 1));

  const earlierSubtasks = [];
  const earlierTasks = [];
  const earlierMilestones = [];
  const backlog = [];
  let remaining = subtaskCount;
  for (let p = 1; remaining > 0; p++) {
    const phaseId = `P${p}`;
    const milestones = [];
    backlog.push({
      type: 'Phase',
      id: phaseId,
      title: `Phase ${p}: ${pick(AREAS)}`,
      status,
      description: sentence(random, 30),
      milestones,
    });
    const milestoneCount = between(3, 5);
    for (let m = 1; m <= milestoneCount && remaining > 0; m++) {
      const milestoneId = `${phaseId}.M${m}`;
      const tasks = [];
      milestones.push({
        type: 'Milestone',
        id: milestoneId,
        title: `Milestone ${p}.${m}: ${pick(VERBS)} the ${pick(NOUNS)}`,
        status,
        description: sentence(random, 24),
        tasks,
      });
      const taskCount = between(3, 6);
      for (let t = 1; t <= taskCount && remaining > 0; t++) {
        const taskId = `${milestoneId}.T${t}`;
        const subtasks = [];
        tasks.push({
          type: 'Task',
          id: taskId,
          title: `${pick(VERBS)} ${pick(NOUNS)}`,
          status,
          description: sentence(random, 20),
          subtasks,
        });
        const subtaskTotal = Math.min(remaining, between(2, 6));
        for (let s = 1; s <= subtaskTotal; s++) {
          const id = `${taskId}.S${s}`;
          const dependencies = [];
          if (s > 1 && random() < 0.7) dependencies.push(`${taskId}.S${s - 1}`);
          if (earlierSubtasks.length > 0 && random() < 0.2) {
            const window = Math.min(60, earlierSubtasks.length);
            const dep = earlierSubtasks[earlierSubtasks.length - 1 - Math.floor(random() * window)];
            if (!dep.startsWith(`${taskId}.`) && !dependencies.includes(dep))
              dependencies.push(dep);
          }
          if (s === 1 && earlierTasks.length > 0 && random() < 0.15) {
            dependencies.push(earlierTasks[earlierTasks.length - 1]);
          }
          if (s === 1 && t === 1 && earlierMilestones.length > 0 && random() < 0.3) {
            dependencies.push(earlierMilestones[earlierMilestones.length - 1]);
          }
          const verb = pick(VERBS);
          const noun = pick(NOUNS);
          subtasks.push({
            type: 'Subtask',
            id,
            title: `${verb} the ${noun} (${id})`,
            status,
            story_points: pick(POINTS),
            dependencies,
            context_scope: contextScope(random, verb, noun, dependencies),
          });
          earlierSubtasks.push(id);
          remaining--;
        }
        earlierTasks.push(taskId);
      }
      earlierMilestones.push(milestoneId);
    }
  }
  return { backlog };
}

const WORDS = (
  'the runner keeps every status change in memory and writes the backlog once per subtask so ' +
  'a crash loses at most the work in flight while the index answers lookups by id and parent ' +
  'without scanning and the schema keeps unknown keys and their order for a one line diff'
).split(' ');

function sentence(random, words) {
  const out = [];
  for (let k = 0; k < words; k++) out.push(WORDS[Math.floor(random() * WORDS.length)]);
  const text = out.join(' ');
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

function contextScope(random, verb, noun, dependencies) {
  const input =
    dependencies.length > 0
      ? `Outputs of ${dependencies.join(', ')}.`
      : 'The project as it stands.';
  return [
    'CONTRACT DEFINITION:',
    `1. RESEARCH NOTE: ${sentence(random, 40)}`,
    `2. INPUT: ${input} ${sentence(random, 15)}`,
    '3. LOGIC:',
    `   - ${verb} the ${noun} in src/${noun.replace(/ /g, '-')}.ts`,
    `   - ${sentence(random, 25)}`,
    `   - ${sentence(random, 25)}`,
    `   - ${sentence(random, 20)}`,
    `4. OUTPUT: ${sentence(random, 18)}`,
  ].join('\n');
}

/** Small seeded PRNG so every run benchmarks the same backlog (and the same operations). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

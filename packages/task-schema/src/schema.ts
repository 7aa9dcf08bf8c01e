import * as z from 'zod';

/**
 * Every status an item can have, in the order a piece of work usually moves through them.
 *
 * `Researching`, `Implementing` and `Retrying` are in-flight states: a runner sets them while it
 * works on a subtask, so finding one in a file that nobody is running means a run was interrupted.
 */
export const STATUSES = [
  'Planned',
  'Researching',
  'Implementing',
  'Retrying',
  'Complete',
  'Failed',
  'Obsolete',
] as const;

/** The statuses a runner sets while it works on a subtask (see {@link STATUSES}). */
export const IN_FLIGHT_STATUSES = ['Researching', 'Implementing', 'Retrying'] as const;

/** The four item types, from the top of the tree to its leaves. */
export const ITEM_TYPES = ['Phase', 'Milestone', 'Task', 'Subtask'] as const;

/** Zod schema of an item's `status`. */
export const StatusSchema = z.enum(STATUSES);

/** One of {@link STATUSES}. */
export type Status = z.infer<typeof StatusSchema>;

/** One of {@link IN_FLIGHT_STATUSES}. */
export type InFlightStatus = (typeof IN_FLIGHT_STATUSES)[number];

/** One of {@link ITEM_TYPES}. */
export type ItemType = (typeof ITEM_TYPES)[number];

/**
 * Zod schema of a subtask, the unit of work a runner executes.
 *
 * Like every item schema here it is a loose object: keys it does not know are accepted and kept.
 * Validation never adds defaults; {@link parseBacklog} returns the input's own objects, so key
 * order survives a read/write cycle.
 */
export const SubtaskSchema = z.looseObject({
  type: z.literal('Subtask'),
  id: z.string(),
  title: z.string(),
  status: StatusSchema,
  story_points: z.number().positive(),
  dependencies: z.array(z.string()),
  context_scope: z.string(),
});

/** A subtask: the leaf of the backlog tree. Unknown keys are typed as `unknown`. */
export type Subtask = z.infer<typeof SubtaskSchema>;

/** Zod schema of a task, which groups subtasks. */
export const TaskSchema = z.looseObject({
  type: z.literal('Task'),
  id: z.string(),
  title: z.string(),
  status: StatusSchema,
  description: z.string(),
  subtasks: z.array(SubtaskSchema),
});

/** A task: a group of subtasks. */
export type Task = z.infer<typeof TaskSchema>;

/** Zod schema of a milestone, which groups tasks. */
export const MilestoneSchema = z.looseObject({
  type: z.literal('Milestone'),
  id: z.string(),
  title: z.string(),
  status: StatusSchema,
  description: z.string(),
  tasks: z.array(TaskSchema),
});

/** A milestone: a group of tasks. */
export type Milestone = z.infer<typeof MilestoneSchema>;

/** Zod schema of a phase, the top level of the tree. */
export const PhaseSchema = z.looseObject({
  type: z.literal('Phase'),
  id: z.string(),
  title: z.string(),
  status: StatusSchema,
  description: z.string(),
  milestones: z.array(MilestoneSchema),
});

/** A phase: a group of milestones, the top level of the tree. */
export type Phase = z.infer<typeof PhaseSchema>;

/**
 * Zod schema of a whole `tasks.json` document. `currentItemId` is optional and nullable; a file
 * without it is read and written back without it.
 */
export const BacklogSchema = z.looseObject({
  backlog: z.array(PhaseSchema),
  currentItemId: z.string().nullable().optional(),
});

/** A whole backlog document: `{ backlog: Phase[], currentItemId?: string | null }`. */
export type Backlog = z.infer<typeof BacklogSchema>;

/** Any item of the tree. Narrow on `type`. */
export type BacklogItem = Phase | Milestone | Task | Subtask;

/** The items that have children: phases, milestones and tasks. */
export type ContainerItem = Phase | Milestone | Task;

/**
 * Builds the JSON Schema of a backlog document from the zod schemas, with `$defs` for every item
 * type and the status enum. The package ships the same document as
 * `@savepoint/task-schema/schema.json` for editors and tools outside TypeScript.
 *
 * @returns a fresh JSON Schema (draft 2020-12) object on every call.
 */
export function toJsonSchema(): Record<string, unknown> {
  // A private registry keeps the ids and descriptions out of zod's global registry, so importing
  // this package has no side effects on other users of zod.
  const registry = z.registry<{ id?: string; title?: string; description: string }>();
  registry.add(StatusSchema, {
    id: 'Status',
    description:
      'Planned until work starts; Researching, Implementing and Retrying while a runner works on it; then Complete, Failed or Obsolete.',
  });
  registry.add(SubtaskSchema, {
    id: 'Subtask',
    title: 'Subtask',
    description: 'The unit of work a runner executes. Unknown keys are allowed and kept.',
  });
  registry.add(TaskSchema, {
    id: 'Task',
    title: 'Task',
    description: 'A group of subtasks. Unknown keys are allowed and kept.',
  });
  registry.add(MilestoneSchema, {
    id: 'Milestone',
    title: 'Milestone',
    description: 'A group of tasks. Unknown keys are allowed and kept.',
  });
  registry.add(PhaseSchema, {
    id: 'Phase',
    title: 'Phase',
    description: 'A group of milestones, the top level of the backlog.',
  });
  registry.add(BacklogSchema, {
    title: 'savepoint backlog (tasks.json)',
    description:
      'A Phase > Milestone > Task > Subtask backlog. Ids extend their parent id: P1, P1.M2, P1.M2.T3, P1.M2.T3.S4.',
  });
  for (const schema of [SubtaskSchema, TaskSchema, MilestoneSchema, PhaseSchema]) {
    registry.add(schema.shape.id, {
      description: 'Unique id that extends the parent id: P1, P1.M2, P1.M2.T3, P1.M2.T3.S4.',
    });
  }
  registry.add(SubtaskSchema.shape.story_points, {
    description: 'Estimated size; any positive number (fractions such as 0.5 are allowed).',
  });
  registry.add(SubtaskSchema.shape.dependencies, {
    description:
      'Ids of items that must be done first. A container is done when all its subtasks are Complete or Obsolete.',
  });
  registry.add(SubtaskSchema.shape.context_scope, {
    description:
      'Instructions for the subtask, by convention: CONTRACT DEFINITION:, 1. RESEARCH NOTE:, 2. INPUT:, 3. LOGIC:, 4. OUTPUT:.',
  });
  registry.add(BacklogSchema.shape.currentItemId, {
    description: 'Id of the item a runner is working on, or null.',
  });
  return z.toJSONSchema(BacklogSchema, { metadata: registry }) as Record<string, unknown>;
}

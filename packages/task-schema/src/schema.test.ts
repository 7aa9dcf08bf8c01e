import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, sampleBacklog } from '../test/helpers.ts';
import {
  BacklogSchema,
  IN_FLIGHT_STATUSES,
  itemTypeOfId,
  parentIdOf,
  STATUSES,
  StatusSchema,
  SubtaskSchema,
  toJsonSchema,
} from './index.ts';

const SCHEMA_FILE = path.join(repoRoot(), 'packages/task-schema/schema.json');

describe('schema.json', () => {
  it('matches the JSON Schema generated from the zod schemas', () => {
    const generated = toJsonSchema();
    if (process.env.UPDATE_SCHEMA === '1') {
      writeFileSync(SCHEMA_FILE, `${JSON.stringify(generated, null, 2)}\n`);
      // Keep the committed file in the formatter's style so `biome check` stays clean.
      execFileSync('pnpm', ['exec', 'biome', 'format', '--write', SCHEMA_FILE], {
        cwd: repoRoot(),
        stdio: 'ignore',
      });
    }
    const committed = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as unknown;
    // Compared as data with key order, so formatting does not matter but content does.
    expect(
      JSON.stringify(committed),
      'packages/task-schema/schema.json is out of date; regenerate it with ' +
        'UPDATE_SCHEMA=1 pnpm vitest run --project task-schema src/schema.test.ts',
    ).toBe(JSON.stringify(generated));
  });

  it('describes the format: required fields, statuses, positive story points, open objects', () => {
    const schema = toJsonSchema() as {
      required: string[];
      $defs: Record<
        string,
        {
          required?: string[];
          enum?: string[];
          properties?: Record<string, Record<string, unknown>>;
          additionalProperties?: unknown;
        }
      >;
    };
    expect(schema.required).toEqual(['backlog']);
    expect(schema.$defs.Status!.enum).toEqual([...STATUSES]);
    const subtask = schema.$defs.Subtask!;
    expect(subtask.required).toEqual([
      'type',
      'id',
      'title',
      'status',
      'story_points',
      'dependencies',
      'context_scope',
    ]);
    expect(subtask.properties!.story_points).toMatchObject({ type: 'number', exclusiveMinimum: 0 });
    expect(subtask.additionalProperties).toEqual({});
    expect(Object.keys(schema.$defs).sort()).toEqual([
      'Milestone',
      'Phase',
      'Status',
      'Subtask',
      'Task',
    ]);
    expect(toJsonSchema()).not.toBe(toJsonSchema());
  });
});

describe('zod schemas', () => {
  it('list the seven statuses and the three in-flight ones', () => {
    expect(StatusSchema.options).toEqual([
      'Planned',
      'Researching',
      'Implementing',
      'Retrying',
      'Complete',
      'Failed',
      'Obsolete',
    ]);
    expect(IN_FLIGHT_STATUSES).toEqual(['Researching', 'Implementing', 'Retrying']);
  });

  it('accept fractional story points and keep unknown keys', () => {
    const subtask = {
      ...sampleBacklog().backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]!,
      story_points: 0.5,
      owner: 'me',
    };
    expect(SubtaskSchema.parse(subtask)).toMatchObject({ story_points: 0.5, owner: 'me' });
    expect(SubtaskSchema.safeParse({ ...subtask, story_points: 0 }).success).toBe(false);
    expect(BacklogSchema.safeParse({ backlog: [], currentItemId: null }).success).toBe(true);
    expect(BacklogSchema.safeParse({ backlog: [], currentItemId: 3 }).success).toBe(false);
  });
});

describe('id helpers', () => {
  it('tell the type and parent of well-formed ids', () => {
    expect(['P1', 'P1.M2', 'P1.M2.T3', 'P12.M20.T3.S41'].map(itemTypeOfId)).toEqual([
      'Phase',
      'Milestone',
      'Task',
      'Subtask',
    ]);
    expect(['', 'p1', 'P0', 'P1.T1', 'P1.M01', 'P1.M1.T1.S1.X1', 'P1.'].map(itemTypeOfId)).toEqual(
      Array(7).fill(undefined),
    );
    expect(parentIdOf('P1.M2.T3.S4')).toBe('P1.M2.T3');
    expect(parentIdOf('P3')).toBeNull();
    expect(parentIdOf('nope')).toBeUndefined();
    expect(() => itemTypeOfId(1 as never)).toThrow(TypeError);
  });
});

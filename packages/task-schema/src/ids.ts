import type { ItemType } from './schema.ts';

/**
 * The type an id's form belongs to: `P1` is a Phase, `P1.M2` a Milestone, `P1.M2.T3` a Task and
 * `P1.M2.T3.S4` a Subtask. Numbers start at 1 and have no leading zeros.
 *
 * @returns the type, or `undefined` when the text is not a well-formed id.
 */
export function itemTypeOfId(id: string): ItemType | undefined {
  if (typeof id !== 'string') {
    throw new TypeError(`itemTypeOfId expected an id string, got ${typeof id}`);
  }
  for (let level = 0; level < ID_FORMS.length; level++) {
    if (ID_FORMS[level]!.test(id)) return LEVEL_TYPES[level];
  }
  return undefined;
}

/**
 * The id a well-formed id extends: `parentIdOf('P1.M2.T3') === 'P1.M2'`.
 *
 * @returns the parent id, `null` for a phase id, or `undefined` when the text is not a well-formed id.
 */
export function parentIdOf(id: string): string | null | undefined {
  const type = itemTypeOfId(id);
  if (type === undefined) return undefined;
  if (type === 'Phase') return null;
  return id.slice(0, id.lastIndexOf('.'));
}

/** The form of an id at each level, from Phase (0) to Subtask (3). */
export const ID_FORMS: readonly RegExp[] = [
  /^P[1-9]\d*$/,
  /^P[1-9]\d*\.M[1-9]\d*$/,
  /^P[1-9]\d*\.M[1-9]\d*\.T[1-9]\d*$/,
  /^P[1-9]\d*\.M[1-9]\d*\.T[1-9]\d*\.S[1-9]\d*$/,
];

/** How each level's id form reads in messages. */
export const ID_FORM_TEXT: readonly string[] = [
  'P<n>',
  'P<n>.M<n>',
  'P<n>.M<n>.T<n>',
  'P<n>.M<n>.T<n>.S<n>',
];

const LEVEL_TYPES: readonly ItemType[] = ['Phase', 'Milestone', 'Task', 'Subtask'];

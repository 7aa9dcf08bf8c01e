import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import { carryOverComplete } from './carry-over.ts';
import { decomposePrd } from './decompose.ts';

/** The backlog of `prd` with every subtask Complete, as after a finished run. */
function finished(prd: string): Backlog {
  const index = createBacklogIndex(decomposePrd(prd));
  for (const subtask of index.subtasks()) index.setStatus(subtask.id, 'Complete');
  return index.backlog;
}

function titled(backlog: Backlog, ids: readonly string[]): string[] {
  const index = createBacklogIndex(backlog);
  return ids.map((id) => {
    const path = index
      .ancestors(id)
      .map((item) => item.title)
      .reverse();
    return [...path.slice(-1), index.get(id)!.title].join(' / ');
  });
}

const USERS = ['## APIs', '### Users API', '- Create endpoint', '- Write tests', ''].join('\n');
const BILLING = ['### Billing API', '- Create endpoint', '- Write tests', ''].join('\n');

describe('carryOverComplete', () => {
  it('does not carry a new section over old work that only shares its position and item texts', () => {
    const parent = finished(USERS);
    const next = decomposePrd(USERS.replace('### Users API', `${BILLING}### Users API`));
    const { backlog, carried } = carryOverComplete(next, parent);
    expect(titled(backlog, carried)).toEqual([
      'Users API / Create endpoint',
      'Users API / Write tests',
    ]);
    const index = createBacklogIndex(backlog);
    const billing = index.subtasks().filter((s) => !carried.includes(s.id));
    expect(
      titled(
        backlog,
        billing.map((s) => s.id),
      ),
    ).toEqual(['Billing API / Create endpoint', 'Billing API / Write tests']);
    expect(billing.every((s) => s.status === 'Planned')).toBe(true);
  });

  it('keeps the work of reordered sections and rolls Complete up to their containers', () => {
    const prd = ['## One', '### A', '- a1', '- a2', '### B', '- b1', ''].join('\n');
    const reordered = ['## One', '### B', '- b1', '### A', '- a1', '- a2', ''].join('\n');
    const { backlog, carried } = carryOverComplete(decomposePrd(reordered), finished(prd));
    expect(carried).toHaveLength(3);
    const index = createBacklogIndex(backlog);
    expect(index.countByStatus().Planned).toBe(0);
    expect(backlog.backlog[0]!.status).toBe('Complete');
  });

  it('runs an edited item again, and only it', () => {
    const prd = ['## One', '### A', '- a1', '- a2', '- a3', ''].join('\n');
    const edited = prd.replace('- a2', '- a2, with retries');
    const { backlog, carried } = carryOverComplete(decomposePrd(edited), finished(prd));
    const planned = createBacklogIndex(backlog)
      .subtasks()
      .filter((s) => s.status !== 'Complete');
    expect(planned.map((s) => s.title)).toEqual(['a2, with retries']);
    expect(carried).toHaveLength(2);
  });

  it('runs an item again when its context changed, though its title did not', () => {
    const prd = ['## One', '### M', '#### A', 'Use REST.', '', '- a1', ''].join('\n');
    const changed = prd.replace('Use REST.', 'Use gRPC.');
    const { carried } = carryOverComplete(decomposePrd(changed), finished(prd));
    expect(carried).toEqual([]);
  });

  it('matches identical subtasks one to one', () => {
    const two = ['## One', '### A', '- same', '- same', ''].join('\n');
    const three = ['## One', '### A', '- same', '- same', '- same', ''].join('\n');
    const { backlog, carried } = carryOverComplete(decomposePrd(three), finished(two));
    expect(carried).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2']);
    expect(createBacklogIndex(backlog).get('P1.M1.T1.S3')!.status).toBe('Planned');

    // Only one of the two old copies was done: one new copy is carried.
    const half = createBacklogIndex(decomposePrd(two));
    half.setStatus('P1.M1.T1.S2', 'Complete');
    expect(carryOverComplete(decomposePrd(three), half.backlog).carried).toEqual(['P1.M1.T1.S1']);
  });

  it('carries nothing that was not Complete', () => {
    const prd = ['## One', '### A', '- a1', '- a2', ''].join('\n');
    const parent = createBacklogIndex(decomposePrd(prd));
    parent.setStatus('P1.M1.T1.S1', 'Failed');
    expect(carryOverComplete(decomposePrd(prd), parent.backlog).carried).toEqual([]);
  });
});

import { resolve } from 'node:path';
import {
  carryOverComplete,
  findLatestSession,
  findSessionByPRD,
  readSession,
} from '@savepoint/session';
import { createBacklogIndex, formatOutline } from '@savepoint/task-schema';
import { produceBacklog, readText } from './run.ts';
import { single, UsageError } from '../options.ts';
import { type CliCommand, print } from './shared.ts';

/** `savepoint plan <prd.md>`: the backlog a run would create, written nowhere. */
export const plan: CliCommand = {
  options: {
    'plan-dir': { type: 'string' },
    backlog: { type: 'string' },
    decompose: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals, io) {
    const prdPath = resolve(single(positionals, 'plan', '<prd.md>'));
    const backlogPath = values.backlog as string | undefined;
    const decompose = values.decompose as string | undefined;
    if (backlogPath !== undefined && decompose !== undefined) {
      throw new UsageError('--backlog and --decompose cannot be used together');
    }
    const prdText = await readText(prdPath, 'PRD');
    const planDir = resolve((values['plan-dir'] as string | undefined) ?? 'plan');
    const existing = await findSessionByPRD(planDir, prdText);
    let backlog = existing
      ? (await readSession(existing.path)).backlog
      : await produceBacklog({ backlogPath, decompose }, prdPath, prdText);
    let note = existing
      ? `A run would resume session ${existing.id}; this is its backlog.`
      : `A run would create the first session in ${planDir}.`;
    const parent = existing ? null : await findLatestSession(planDir);
    if (parent) {
      const carried = carryOverComplete(backlog, (await readSession(parent.path)).backlog);
      backlog = carried.backlog;
      note = `A run would create a delta session of ${parent.id}, carrying over ${carried.carried.length} Complete subtask(s).`;
    }
    const counts = createBacklogIndex(backlog).countByStatus();
    const subtasks = Object.values(counts).reduce((a, b) => a + b, 0);
    if (values.json) {
      print(
        io,
        {
          prd: prdPath,
          planDir,
          session: existing?.id ?? null,
          parent: parent?.id ?? null,
          subtasks,
          backlog,
        },
        undefined,
      );
    } else {
      io.stderr.write(`${note} Nothing was written.\n`);
      print(io, null, [...formatOutline(backlog), `${subtasks} subtask(s).`]);
    }
    return 0;
  },
};

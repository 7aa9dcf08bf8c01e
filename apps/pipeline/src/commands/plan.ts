import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { previewRun } from '@savepoint/runner';
import { createFileStore } from '@savepoint/session';
import { createBacklogIndex, formatOutline } from '@savepoint/task-schema';
import { single, UsageError } from '../options.ts';
import { produceBacklog, readText } from './run.ts';
import { type CliCommand, print } from './shared.ts';

/** `savepoint plan <prd.md>`: the backlog a run would create, written nowhere. */
export const plan: CliCommand = {
  async run(values, positionals, io) {
    const prdPath = resolve(single(positionals, 'plan', '<prd.md>'));
    const backlogPath = values.backlog as string | undefined;
    const decompose = values.decompose as string | undefined;
    if (backlogPath !== undefined && decompose !== undefined) {
      throw new UsageError('--backlog and --decompose cannot be used together');
    }
    const prdText = await readText(prdPath, 'PRD');
    const planDir = resolve((values['plan-dir'] as string | undefined) ?? 'plan');
    const { session, parent, backlog, carried } = await previewRun(createFileStore(planDir), {
      prd: await readFile(prdPath),
      backlog: () => produceBacklog({ backlogPath, decompose }, prdPath, prdText),
    });
    const note = session
      ? `A run would resume session ${session.id}; this is its backlog.`
      : parent
        ? `A run would create a delta session of ${parent.id}, carrying over ${carried.length} Complete subtask(s).`
        : `A run would create the first session in ${planDir}.`;
    const counts = createBacklogIndex(backlog).countByStatus();
    const subtasks = Object.values(counts).reduce((a, b) => a + b, 0);
    if (values.json) {
      print(
        io,
        {
          prd: prdPath,
          planDir,
          session: session?.id ?? null,
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

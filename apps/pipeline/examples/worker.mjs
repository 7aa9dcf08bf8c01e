#!/usr/bin/env node
// The Quick start's worker: savepoint runs it once per subtask. It takes its time (0.8 s, or
// SAVEPOINT_DEMO_MS) so that Ctrl-C halfway is easy, writes one file per subtask into the session
// folder's work/ and prints one line. Item data comes from the environment, never the command line.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const id = process.env.SAVEPOINT_ITEM_ID;
const title = process.env.SAVEPOINT_ITEM_TITLE ?? '';
const session = process.env.SAVEPOINT_SESSION_DIR;
if (!id || !session) {
  console.error(
    'worker.mjs is meant to be run by savepoint: savepoint run <prd.md> --exec "node worker.mjs"',
  );
  process.exit(2);
}
// savepoint also hands over the whole item (ancestors, context, dependencies) as a JSON file.
const item = process.env.SAVEPOINT_ITEM_FILE
  ? JSON.parse(readFileSync(process.env.SAVEPOINT_ITEM_FILE, 'utf8'))
  : undefined;

await sleep(Number(process.env.SAVEPOINT_DEMO_MS ?? 800));
const folder = join(session, 'work');
mkdirSync(folder, { recursive: true });
const file = join(folder, `${id}.md`);
const attempt = process.env.SAVEPOINT_ATTEMPT ?? '1';
writeFileSync(
  file,
  `# ${id}: ${title}\n\nDone on attempt ${attempt}.\n${item ? `\n${JSON.stringify(item, null, 2)}\n` : ''}`,
);
console.log(`${id} done: ${title} -> ${file}`);

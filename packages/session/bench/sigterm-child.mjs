// Child of the session benchmark's SIGTERM case: opens a session, makes PENDING status changes
// without flushing, prints "ready", and on SIGTERM does the shutdown sequence (flush pending
// updates, save the backlog, close), then exits 143.
//
//   node sigterm-child.mjs <dist index.js URL> <session folder> <pending>
const [distUrl, folder, pendingText] = process.argv.slice(2);
const { SessionManager } = await import(distUrl);
const manager = new SessionManager({ planDir: folder });
await manager.loadSession(folder);
const ids = manager.index.subtasks().map((subtask) => subtask.id);
const pending = Number(pendingText);
for (let k = 0; k < pending; k++) manager.updateItemStatus(ids[k % ids.length], 'Complete');
process.once('SIGTERM', async () => {
  await manager.flushUpdates();
  await manager.saveBacklog(manager.currentSession.taskRegistry);
  await manager.close();
  process.exit(143);
});
process.stdout.write('ready\n');
setInterval(() => undefined, 1 << 30);

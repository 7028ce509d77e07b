#!/usr/bin/env node
// One write into a guest image, as a run of its own (the fault tests kill it whole):
//   node writer.mjs IMAGE OFFSET GUEST_PATH NEW_CONTENTS_FILE [--lock] [--restore]
// Rolls back what an interrupted earlier run left, then replaces GUEST_PATH (FILE.orig kept)
// unless it already holds the new contents; with --restore, puts FILE.orig back over GUEST_PATH
// and removes it, as pygrub-fix --restore does. Prints one JSON line: what it did.
import { readFileSync } from 'node:fs';
import { DebugfsFs, lockImage, localCommands } from 'xen-runbooks/disk';

const [image, offset, guestPath, newFile] = process.argv.slice(2);
const useLock = process.argv.includes('--lock');
const restore = process.argv.includes('--restore');
process.env.XR_FAULT_PGID = String(process.pid);
const out = { recovery: '', action: '', error: '', code: '' };
let lock;
try {
  if (useLock) lock = await lockImage(image, { exclusive: true, waitSeconds: 1 });
  const fs = new DebugfsFs(localCommands(), image, Number(offset));
  out.recovery = (await fs.recover()).action;
  const data = readFileSync(newFile);
  const now = await fs.readFile(guestPath, 1 << 20);
  if (restore) {
    if (!(await fs.stat(`${guestPath}.orig`))) out.action = 'nothing-to-do';
    else {
      await fs.replaceFile(guestPath, await fs.readFile(`${guestPath}.orig`, 1 << 20), { backup: false });
      await fs.removeFile(`${guestPath}.orig`);
      out.action = 'restored';
    }
  } else if (now.equals(data)) out.action = 'nothing-to-do';
  else {
    await fs.replaceFile(guestPath, data, { backup: true });
    out.action = 'replaced';
  }
} catch (e) {
  out.error = e.message;
  out.code = e.code ?? e.name;
}
await lock?.release();
process.stdout.write(`${JSON.stringify(out)}\n`);

// Launch an app asset by alias; report its uuid, then either wait for its exit (listener) or for stdin.
import { connectAs, deferred, emit, run, within } from '../harness.mjs';
import { createInterface } from 'node:readline';

run(async ({ address, uuid, alias, args, lifetime, waitForExit }) => {
  const fin = await connectAs(address, uuid);
  const exited = deferred();
  const launched = await fin.System.launchExternalProcess({
    alias,
    arguments: args,
    lifetime,
    listener: (result) => exited.resolve(result),
  });
  emit('launched', launched);
  if (waitForExit) {
    return { launched, exit: await within(20000, exited.promise, 'external-process-exited') };
  }
  const lines = createInterface({ input: process.stdin });
  await within(60000, new Promise((resolve) => lines.once('line', resolve)), 'a line on stdin');
  return { launched };
});

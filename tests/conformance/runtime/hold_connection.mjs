// Connect as `uuid` and stay connected until pytest writes a line on stdin (or 60 s pass).
import { connectAs, emit, run, within } from '../harness.mjs';
import { createInterface } from 'node:readline';

run(async ({ address, uuid }) => {
  await connectAs(address, uuid);
  emit('connected', { uuid });
  const lines = createInterface({ input: process.stdin });
  await within(60000, new Promise((resolve) => lines.once('line', resolve)), 'a line on stdin');
  return { uuid };
});

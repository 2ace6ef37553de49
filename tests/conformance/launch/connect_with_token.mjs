// Connect the way the launched adapter would: with the runtime address, uuid and token from its command line.
import { connectAs, run } from '../harness.mjs';

run(async ({ address, uuid, token }) => {
  const fin = await connectAs(address, uuid, { token });
  return { identity: fin.me.identity };
});

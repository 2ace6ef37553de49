// Connect with the default file-token handshake and make one runtime call.
import { connectAs, run } from '../harness.mjs';

run(async ({ address, uuid }) => {
  const fin = await connectAs(address, uuid);
  const version = await fin.System.getVersion();
  return { me: { uuid: fin.me.uuid, name: fin.me.name }, version };
});

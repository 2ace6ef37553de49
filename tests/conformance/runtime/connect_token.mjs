// A sponsor registers an external connection; a second party connects with that token (no file-token step).
import { connectAs, run } from '../harness.mjs';

run(async ({ address, sponsor, uuid, tamper }) => {
  const fin = await connectAs(address, sponsor);
  const registered = await fin.System.registerExternalConnection(uuid);
  const token = tamper ? `${registered.token}-wrong` : registered.token;
  const sponsored = await connectAs(address, uuid, { token });
  const info = await sponsored.System.getRuntimeInfo();
  return { registeredUuid: registered.uuid, me: sponsored.me.uuid, port: info.port };
});

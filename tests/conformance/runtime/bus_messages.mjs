// The legacy InterApplicationBus between two node-adapter connections: publish to every subscriber of a
// topic, and send to one uuid.
import { connectAs, deferred, run, within } from '../harness.mjs';

run(async ({ address }) => {
  const listenerFin = await connectAs(address, 'listener');
  const senderFin = await connectAs(address, 'sender');
  const published = deferred();
  const sent = deferred();
  await listenerFin.InterApplicationBus.subscribe({ uuid: '*' }, 'news', (message, source) =>
    published.resolve({ message, source }),
  );
  await listenerFin.InterApplicationBus.subscribe({ uuid: 'sender' }, 'direct', (message, source) =>
    sent.resolve({ message, source }),
  );
  await senderFin.InterApplicationBus.publish('news', { headline: 'hello' });
  await senderFin.InterApplicationBus.send({ uuid: 'listener' }, 'direct', 'just for you');
  return {
    published: await within(5000, published.promise, 'published message'),
    sent: await within(5000, sent.promise, 'sent message'),
  };
});

// Helpers shared by the openfin_client scripts: the official node-adapter as the peer of our Python client.
import readline from 'node:readline';

/** What a node-adapter user can read off an error, extra fields of its cause included (status, detail ...). */
export function describeFully(err) {
  const out = { name: err?.name, className: err?.constructor?.name, message: err?.message };
  if (err?.cause && typeof err.cause === 'object') {
    const { stack, ...fields } = err.cause;
    out.cause = { ...fields, name: err.cause.name, message: err.cause.message };
  }
  return out;
}

/** Settle a promise into {ok, result} or {ok: false, error} so that one script can report many calls. */
export async function settle(promise) {
  try {
    return { ok: true, result: (await promise) ?? null };
  } catch (err) {
    return { ok: false, error: describeFully(err) };
  }
}

const lines = readline.createInterface({ input: process.stdin });
const queued = [];
const waiting = [];
lines.on('line', (line) => {
  const message = JSON.parse(line);
  const next = waiting.shift();
  if (next) next(message);
  else queued.push(message);
});

/** The next JSON line pytest writes on our stdin (pytest drives multi-step scenarios this way). */
export function instruction() {
  if (queued.length > 0) return Promise.resolve(queued.shift());
  return new Promise((resolve) => waiting.push(resolve));
}

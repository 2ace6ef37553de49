// Shared helpers for conformance scripts: each script is driven by pytest (tests/conformance/node_support.py),
// takes one JSON object of parameters as its first argument, may print progress lines {"event": ...}, and
// ends by printing exactly one result line {"ok": true, "result": ...} or {"ok": false, "error": {...}}.
import nodeAdapter from '@openfin/node-adapter';

export const { connect } = nodeAdapter;

/** The parameters pytest passed as JSON in argv[2]. */
export function params() {
  return process.argv[2] ? JSON.parse(process.argv[2]) : {};
}

function line(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** A progress line pytest can wait for (e.g. "ready" once a provider exists). */
export function emit(event, data = null) {
  line({ event, data });
}

/** What a node-adapter user sees of an error: its class, name, message and cause. */
export function describe(err) {
  if (err === null || typeof err !== 'object') {
    return { name: typeof err, message: String(err) };
  }
  const out = { name: err.name, className: err.constructor?.name, message: err.message };
  // A broker's refusal nests the handler's error one level deeper: keep a short chain.
  let into = out;
  for (let cause = err.cause, depth = 0; cause && typeof cause === 'object' && depth < 3; cause = cause.cause, depth += 1) {
    into.cause = { name: cause.name, message: cause.message };
    into = into.cause;
  }
  return out;
}

/** Reject after `ms` milliseconds so that no script can hang its test. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve function, for events a script waits on. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Connect to the runtime at `address` as `uuid` (file-token handshake unless `extra.token` is given). */
export function connectAs(address, uuid, extra = {}) {
  return connect({ uuid, address, nonPersistent: true, ...extra });
}

/** Run `main(params)` and print its outcome as the one result line; always exits. */
export async function run(main) {
  try {
    const result = await main(params());
    line({ ok: true, result: result === undefined ? null : result });
    process.exit(0);
  } catch (err) {
    line({ ok: false, error: describe(err) });
    process.exit(1);
  }
}

// The official @openfin/node-adapter, loaded from the conformance suite's pinned install
// (tests/conformance/package.json + package-lock.json: 42.103.2), so that the benchmarks and the conformance
// tests always measure and prove the same peer and `npm ci` runs in one place only.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/conformance/package.json', import.meta.url));
const nodeAdapter = require('@openfin/node-adapter');

export const { connect } = nodeAdapter;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with Python's time.time(). */
export function wallMs() {
  return performance.timeOrigin + performance.now();
}

/** One JSON line on stdout: progress events and command replies for the Python side. */
export function emit(event, data = null) {
  process.stdout.write(`${JSON.stringify({ event, data })}\n`);
}

/** Reject after `ms` milliseconds so that no benchmark step can hang. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Serve newline-delimited JSON commands from stdin: `handlers[op](command)` -> event "reply" {id, ok, ...}. */
export async function serveCommands(handlers) {
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: process.stdin });
  for await (const text of lines) {
    const command = JSON.parse(text);
    if (command.op === 'exit') break;
    try {
      const result = await handlers[command.op](command);
      emit('reply', { id: command.id, ok: true, result: result ?? null });
    } catch (err) {
      emit('reply', { id: command.id, ok: false, error: String(err?.stack ?? err) });
    }
  }
  process.exit(0);
}

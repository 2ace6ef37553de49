// What @openfin/servicenow needs from a browser window that Node lacks, and the one runtime route
// node-adapter lacks from an external connection. Shims only; nothing of the package is changed:
//
// - `window` (the package calls window.setTimeout/clearTimeout/setInterval/clearInterval): Node's globals.
// - `FileReader.readAsDataURL(blob)` (the package base64-encodes the PKCE challenge with it).
// - `Worker` (the package runs its token and request code in a web worker built from a Blob URL): the
//   worker's source runs in this process with its own `self`, and every message crosses structuredClone,
//   as between a page and its worker.
// - Unhandled promise rejections are reported and survived, as a page does (Node would end the process).
//   The official package needs it: once the auth flow ends it calls the window's removeAllListeners() without
//   awaiting it and then close(true), and node-adapter's close nulls the window's prototype, so the
//   unfinished removeAllListeners fails ("this.deleteEmitterIfNothingRegistered is not a function").
// - `fin`: a node-adapter connection, as the global a window has. Its environment's createChildContent
//   (what fin.Window.create calls, which a window does through the runtime's in-process route and node
//   refuses with "Not Implemented") becomes the runtime emulator's `emulator-create-window`; node-adapter's
//   own Window.create code (its fire-constructor-callback wait) runs unchanged around it.
import { Buffer, resolveObjectURL } from 'node:buffer';

class NodeFileReader {
  readAsDataURL(blob) {
    blob.arrayBuffer().then(
      (bytes) => {
        const type = blob.type || 'application/octet-stream';
        this.result = `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
        this.onload?.({ target: this });
      },
      (error) => this.onerror?.({ target: this, error }),
    );
  }
}

class InlineWorker {
  constructor(url) {
    this.onmessage = null;
    this.terminated = false;
    const scope = {
      onmessage: null,
      postMessage: (message) => {
        const data = structuredClone(message);
        setImmediate(() => {
          if (!this.terminated) this.onmessage?.({ data });
        });
      },
    };
    this.scope = scope;
    this.ready = resolveObjectURL(url)
      .text()
      .then((source) => {
        // The worker's global scope is `self`; fetch and crypto are Node's, as a worker's are the browser's.
        new Function('self', source)(scope);
      });
  }

  postMessage(message) {
    const data = structuredClone(message);
    this.ready.then(() => {
      if (!this.terminated) this.scope.onmessage?.({ data });
    });
  }

  terminate() {
    this.terminated = true;
  }
}

/** Rejections nobody handled, as a page's console would show them. */
export const unhandledRejections = [];

/** How many windows the page created (each auth window the official package opens and then closes). */
export const createdWindows = { count: 0 };

/** Install the browser globals and make `fin` the given node-adapter connection. */
export function installBrowserEnvironment(fin) {
  process.on('unhandledRejection', (reason) => {
    unhandledRejections.push(String(reason?.message ?? reason));
    process.stderr.write(`unhandled rejection (a page logs it and goes on): ${reason?.stack ?? reason}\n`);
  });
  globalThis.window = globalThis;
  globalThis.FileReader ??= NodeFileReader;
  globalThis.Worker ??= InlineWorker;
  fin.wire.environment.createChildContent = async ({ entityType, options }) => {
    if (entityType !== 'window') throw new Error('Not Implemented');
    createdWindows.count += 1;
    await fin.wire.sendAction('emulator-create-window', options);
  };
  globalThis.fin = fin;
}

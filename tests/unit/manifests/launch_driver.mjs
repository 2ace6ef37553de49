// Drives manifests/provider/launch-adapter.mjs for the pytest tests in this folder.
//
// Usage: node launch_driver.mjs '<request JSON>'; prints one JSON line with the outcome.
//   {"mode": "quote", "values": [...]}            -> {"results": [{"quoted"} | {"error": {...}}]}
//   {"mode": "settings", "settings": {...}}       -> {"args": [...]} | {"error": {...}}
//   {"mode": "flags"}                             -> {"settingFlags": {...}, "switchSettings": [...], "reservedFlags": [...]}
//   {"mode": "launch", "fin": {...}, "options": {...}} -> {"client", "calls"} | {"error", "calls"}
//   {"mode": "provider", "fin": {...}, "manifest": {...}, "platformUuid"} -> {"calls", "console"}
// The "fin" scenario configures a fake `fin` object that records every call, so the tests can check what
// launchAdapter asked of the runtime without one.

import {
  argumentsFromSettings,
  launchAdapter,
  quoteArgument,
  RESERVED_FLAGS,
  SETTING_FLAGS,
  SWITCH_SETTINGS,
} from "../../../manifests/provider/launch-adapter.mjs";

function errorInfo(error) {
  return { name: error.name, code: error.code, message: error.message, processUuid: error.processUuid ?? null };
}

function fakeFin(scenario, calls) {
  return {
    System: {
      async getRuntimeInfo() {
        calls.push({ call: "getRuntimeInfo" });
        if (scenario.runtimeInfo === "reject") {
          throw new Error("runtime info unavailable");
        }
        return { port: scenario.port ?? 9696, version: "43.142.101.2", securityRealm: "" };
      },
      async registerExternalConnection(uuid) {
        calls.push({ call: "registerExternalConnection", uuid });
        if (scenario.register === "reject") {
          throw new Error("registration refused");
        }
        return { uuid, token: scenario.token ?? "0b7e2a4c-token" };
      },
      async launchExternalProcess(options) {
        const { listener, ...rest } = options;
        calls.push({ call: "launchExternalProcess", options: rest, hasListener: typeof listener === "function" });
        if (scenario.launch === "reject") {
          throw new Error("Access denied to System.launchExternalProcess");
        }
        if (scenario.launch === "exit") {
          setTimeout(() => listener({ topic: "exited", uuid: "process-1", exitCode: 3 }), 0);
        }
        return { uuid: "process-1" };
      },
    },
    InterApplicationBus: {
      Channel: {
        connect(channelName, options) {
          calls.push({ call: "Channel.connect", channelName, options });
          if (scenario.channel === "connect") {
            return Promise.resolve({
              channelName,
              async disconnect() {
                calls.push({ call: "client.disconnect" });
              },
              onDisconnection() {
                calls.push({ call: "client.onDisconnection" });
              },
            });
          }
          if (scenario.channel === "reject") {
            return Promise.reject(new Error("channel connection refused"));
          }
          return new Promise(() => undefined);
        },
      },
    },
  };
}

// Run provider.mjs as the provider page would: `fin` is a global, and the page reports through the console.
async function runProvider(request) {
  const calls = [];
  const logged = [];
  const fin = fakeFin(request.fin, calls);
  fin.me = { identity: { uuid: request.platformUuid, name: request.platformUuid } };
  fin.Platform = {
    async init() {
      calls.push({ call: "Platform.init" });
    },
  };
  fin.Application = {
    getCurrentSync: () => ({
      async getManifest() {
        calls.push({ call: "getManifest" });
        return request.manifest;
      },
    }),
  };
  globalThis.fin = fin;
  const done = new Promise((resolve) => {
    for (const level of ["info", "error"]) {
      console[level] = (message) => {
        logged.push({ level, message });
        resolve();
      };
    }
  });
  await import("../../../manifests/provider/provider.mjs");
  await done;
  return { calls, console: logged };
}

async function main() {
  const request = JSON.parse(process.argv[2]);
  if (request.mode === "quote") {
    const results = request.values.map((value) => {
      try {
        return { quoted: quoteArgument(value) };
      } catch (error) {
        return { error: errorInfo(error) };
      }
    });
    return { results };
  }
  if (request.mode === "settings") {
    try {
      return { args: argumentsFromSettings(request.settings) };
    } catch (error) {
      return { error: errorInfo(error) };
    }
  }
  if (request.mode === "provider") {
    return runProvider(request);
  }
  if (request.mode === "flags") {
    return { settingFlags: SETTING_FLAGS, switchSettings: SWITCH_SETTINGS, reservedFlags: RESERVED_FLAGS };
  }
  const calls = [];
  try {
    const client = await launchAdapter(fakeFin(request.fin, calls), request.options);
    return { client: { channelName: client.channelName }, calls };
  } catch (error) {
    return { error: errorInfo(error), calls };
  }
}

process.stdout.write(`${JSON.stringify(await main())}\n`);

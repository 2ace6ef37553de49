/**
 * Launch the ServiceNow adapter (an OpenFin app asset) and connect to its channel.
 *
 * Runs unchanged in a platform provider page and under `@openfin/node-adapter`: it uses only the `fin`
 * object it is given, promises and timers (no DOM, no Node-only modules).
 *
 * The hand-off follows OpenFin's own pattern for external parties: read the runtime's port with
 * `System.getRuntimeInfo()`, obtain a one-off token with `System.registerExternalConnection(uuid)`, pass both on
 * the adapter's command line, then wait until the adapter has created its channel.
 */

export const DEFAULT_ALIAS = "servicenow-adapter";
export const DEFAULT_CHANNEL = "servicenow";
export const DEFAULT_TIMEOUT_MS = 30000;

/** Flags that launchAdapter sets itself; extra arguments may not repeat or override them. */
export const RESERVED_FLAGS = Object.freeze([
  "--runtime-address",
  "--uuid",
  "--token",
  "--broker",
  "--channel",
]);

/**
 * How each `customSettings.servicenowAdapter` key maps to a `servicenow-adapter run` flag. Every flag takes a
 * value but those of SWITCH_SETTINGS; tests/unit/manifests/test_launch_adapter.py checks each against the
 * adapter's settings model.
 */
export const SETTING_FLAGS = Object.freeze({
  instanceUrl: "--instance-url",
  clientId: "--client-id",
  allowedApps: "--allow-app",
  authorizer: "--authorizer",
  tokenEndpoint: "--token-endpoint",
  pollInterval: "--poll-interval",
  watchTables: "--watch-table",
  contextGroup: "--context-group",
  intents: "--intents",
  trustIntentSource: "--trust-intent-source",
  logLevel: "--log-level",
});

/** Settings that are switches: `true` passes the flag alone, `false` leaves it out. */
export const SWITCH_SETTINGS = Object.freeze(["trustIntentSource"]);
const SWITCHES = new Set(SWITCH_SETTINGS);

/**
 * Why launchAdapter failed. `code` is one of: "invalid-argument", "runtime-info", "register-connection",
 * "launch-failed", "exited", "timeout". `processUuid` names the launched process when there is one.
 */
export class AdapterLaunchError extends Error {
  constructor(code, message, { cause, processUuid } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "AdapterLaunchError";
    this.code = code;
    this.processUuid = processUuid;
  }
}

// `%VAR%` (Windows) and `$VAR`/`${VAR}` (elsewhere) are expanded by the runtime in `arguments`, and a double
// quote or a control character would end or split an argument: none may reach the command line.
const FORBIDDEN = /["%$\u0000-\u001f\u007f]/;

/**
 * One command-line argument, quoted so that the runtime passes it through as exactly one argument.
 *
 * The rules are those of the Windows C runtime, which parses the adapter's command line: wrap in double
 * quotes when the value is empty or has a space, and double the backslashes that would otherwise escape the
 * closing quote. Values with a backslash or a single quote are quoted too, so that POSIX shell-style
 * splitting (used where no Windows runtime is involved) keeps them as they are.
 */
export function quoteArgument(value) {
  if (typeof value !== "string") {
    throw new AdapterLaunchError("invalid-argument", `argument must be a string, got ${typeof value}`);
  }
  const bad = FORBIDDEN.exec(value);
  if (bad) {
    const shown = JSON.stringify(bad[0]);
    throw new AdapterLaunchError(
      "invalid-argument",
      `argument ${JSON.stringify(value)} contains ${shown}, which the runtime would expand or split`,
    );
  }
  if (value !== "" && !/[\s\\']/.test(value)) {
    return value;
  }
  const trailingBackslashes = /\\*$/.exec(value)[0].length;
  return `"${value}${"\\".repeat(trailingBackslashes)}"`;
}

function flagName(argument) {
  return argument.split("=", 1)[0];
}

// The adapter takes whole flags only; an abbreviation of a reserved flag (`--tok`) is refused here as well, so
// that an adapter that still accepted abbreviations could not be redirected either.
function reservedFlag(argument) {
  const name = flagName(argument);
  if (!name.startsWith("--") || name.length < 3) {
    return undefined;
  }
  return RESERVED_FLAGS.find((flag) => flag === name || flag.startsWith(name));
}

/**
 * Check `extraArgs`: a list of single arguments (e.g. `["--allow-app", "blotter"]`), each one quotable, none
 * setting one of RESERVED_FLAGS, so that settings can never redirect the adapter to another runtime or identity.
 */
export function checkExtraArguments(extraArgs) {
  if (!Array.isArray(extraArgs)) {
    throw new AdapterLaunchError("invalid-argument", "extraArgs must be an array of strings");
  }
  for (const argument of extraArgs) {
    quoteArgument(argument);
    const reserved = reservedFlag(argument);
    if (reserved !== undefined) {
      throw new AdapterLaunchError(
        "invalid-argument",
        `extraArgs may not set ${reserved} (given as ${flagName(argument)}); launchAdapter sets it`,
      );
    }
  }
}

/** The `arguments` string for `launchExternalProcess`: our connection flags first, then `extraArgs`. */
export function buildArguments({ runtimeAddress, uuid, token, brokerUuid, channelName, extraArgs = [] }) {
  checkExtraArguments(extraArgs);
  const parts = ["--runtime-address", runtimeAddress, "--uuid", uuid];
  if (token !== undefined) {
    parts.push("--token", token);
  }
  if (brokerUuid !== undefined && brokerUuid !== null) {
    parts.push("--broker", brokerUuid);
  }
  parts.push("--channel", channelName, ...extraArgs);
  return parts.map(quoteArgument).join(" ");
}

/**
 * Turn the manifest's `customSettings.servicenowAdapter` object into `run` flags.
 *
 * Lists (`allowedApps`, `watchTables`) repeat their flag, switches (`trustIntentSource`) are the flag alone
 * when true; unknown keys are an error so that a typo in the manifest is found at launch rather than
 * silently ignored.
 */
export function argumentsFromSettings(settings = {}) {
  if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
    throw new AdapterLaunchError("invalid-argument", "adapter settings must be an object");
  }
  const args = [];
  for (const [key, value] of Object.entries(settings)) {
    const flag = SETTING_FLAGS[key];
    if (flag === undefined) {
      const known = Object.keys(SETTING_FLAGS).join(", ");
      throw new AdapterLaunchError("invalid-argument", `unknown adapter setting ${key}; known: ${known}`);
    }
    if (SWITCHES.has(key)) {
      if (typeof value !== "boolean") {
        throw new AdapterLaunchError("invalid-argument", `adapter setting ${key} must be true or false`);
      }
      if (value) {
        args.push(flag);
      }
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (typeof item !== "string" && typeof item !== "number") {
        throw new AdapterLaunchError("invalid-argument", `adapter setting ${key} must be a string or number`);
      }
      args.push(flag, String(item));
    }
  }
  return args;
}

function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Launch the adapter asset and resolve to a channel client connected to its channel.
 *
 * Options: `alias` (the appAssets alias), `channelName` (the adapter's channel), `brokerUuid` (platform
 * uuid whose interop broker the adapter joins; omitted: none), `extraArgs` (further `run` arguments),
 * `uuid` (identity registered for the adapter, default: the alias), `timeoutMs` (how long to wait for the
 * channel), `useToken` (default true; false passes no token, and the adapter then proves itself with the
 * runtime's file-token handshake instead). Rejects with AdapterLaunchError.
 */
export async function launchAdapter(fin, options = {}) {
  const {
    alias = DEFAULT_ALIAS,
    channelName = DEFAULT_CHANNEL,
    brokerUuid,
    extraArgs = [],
    uuid = alias,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    useToken = true,
  } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new AdapterLaunchError("invalid-argument", `timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  // Refuse bad options before asking anything of the runtime (no token is registered for nothing).
  checkExtraArguments(extraArgs);
  for (const value of [alias, channelName, uuid, brokerUuid ?? ""]) {
    quoteArgument(value);
  }

  let port;
  try {
    port = Number((await fin.System.getRuntimeInfo()).port);
  } catch (error) {
    throw new AdapterLaunchError("runtime-info", `could not read the runtime's port: ${describe(error)}`, {
      cause: error,
    });
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new AdapterLaunchError("runtime-info", `the runtime reported no usable port (${port})`);
  }

  let connection = { uuid, token: undefined };
  if (useToken) {
    try {
      connection = await fin.System.registerExternalConnection(uuid);
    } catch (error) {
      throw new AdapterLaunchError(
        "register-connection",
        `could not register an external connection for ${uuid}: ${describe(error)}`,
        { cause: error },
      );
    }
  }

  const commandLine = buildArguments({
    runtimeAddress: `ws://127.0.0.1:${port}`,
    uuid: connection.uuid,
    token: connection.token,
    brokerUuid,
    channelName,
    extraArgs,
  });

  return new Promise((resolve, reject) => {
    let settled = false;
    let processUuid;
    let timer;

    const fail = (error) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    };

    fin.System.launchExternalProcess({
      alias,
      arguments: commandLine,
      lifetime: "application",
      listener: ({ exitCode }) => {
        fail(
          new AdapterLaunchError(
            "exited",
            `${alias} exited with code ${exitCode} before creating channel ${channelName}`,
            { processUuid },
          ),
        );
      },
    }).then(
      (launched) => {
        processUuid = launched?.uuid;
      },
      (error) => {
        fail(
          new AdapterLaunchError("launch-failed", `could not launch app asset ${alias}: ${describe(error)}`, {
            cause: error,
          }),
        );
      },
    );

    timer = setTimeout(() => {
      fail(
        new AdapterLaunchError(
          "timeout",
          `${alias} did not create channel ${channelName} within ${timeoutMs} ms`,
          { processUuid },
        ),
      );
    }, timeoutMs);

    fin.InterApplicationBus.Channel.connect(channelName, { wait: true }).then(
      (client) => {
        if (settled) {
          // The channel came too late for this caller: do not leave a client nobody will use.
          client.disconnect().catch(() => undefined);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(client);
      },
      (error) => {
        fail(
          new AdapterLaunchError("launch-failed", `could not connect to channel ${channelName}: ${describe(error)}`, {
            cause: error,
            processUuid,
          }),
        );
      },
    );
  });
}

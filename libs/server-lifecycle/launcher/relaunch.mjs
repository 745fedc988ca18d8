// Server launchers (the apps' bin scripts). Some Node options, `--initial-heap-size` among them,
// are read only when a process starts, and NODE_OPTIONS refuses them: a launcher started without
// its server's options starts Node once more with them and stands in for that process (signals
// in, exit code out). Plain JavaScript: the launchers run before any TypeScript loader.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * Runs a server from its launcher, the bin script at `scriptUrl`: `serve()` if this process has
 * the Node options of `server-runtime.json` beside the script (`{ nodeOptions, env }`, which the
 * topology and the benchmark also apply), else the script again in a child process that has them.
 * `name` prefixes the error printed if that cannot be started.
 * @throws when server-runtime.json is missing or not JSON; whatever `serve` throws.
 */
export async function launchServer(name, scriptUrl, serve) {
  const runtime = JSON.parse(readFileSync(new URL('./server-runtime.json', scriptUrl), 'utf8'));
  if (startedWithRuntime(runtime)) {
    followLauncher();
    await serve();
  } else {
    relaunch(name, scriptUrl, runtime);
  }
}

/** True if this process runs with the runtime's Node options (an operator's own values count). */
function startedWithRuntime(runtime) {
  return runtime.nodeOptions.every((option) => {
    const name = option.split('=')[0];
    return process.execArgv.some((flag) => flag === name || flag.startsWith(`${name}=`));
  });
}

/**
 * In the server a launcher started: if the launcher goes away, even by SIGKILL (its IPC channel
 * closes), stop as if told to.
 */
function followLauncher() {
  if (process.send) process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * Starts the script at `scriptUrl` again with the runtime's options and environment (an
 * operator's own environment wins) and the same arguments, forwards SIGINT, SIGTERM and SIGHUP to
 * it, and exits as it exits. `name` prefixes the error printed if it cannot be started.
 */
function relaunch(name, scriptUrl, runtime) {
  const child = spawn(
    process.execPath,
    [
      ...runtime.nodeOptions,
      ...process.execArgv,
      fileURLToPath(scriptUrl),
      ...process.argv.slice(2),
    ],
    { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...runtime.env, ...process.env } },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.on(signal, () => child.kill(signal));
  child.once('error', (error) => {
    console.error(`${name}: ${error.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
  });
}

import { resolveHearthPaths } from '../config/paths.js';
import { ConfigRefused, startGateway } from '../main.js';
import { resolveGatewayToken } from '../gateway/gateway-token.js';
import { cliConfig, CliFailure, type CliRuntime, EXIT_CONFIG, EXIT_STORE_DAMAGED } from './cli-context.js';
import { StoreDamaged } from '../store/sqlite/store-integrity.js';

export async function runGateway(runtime: CliRuntime, options: { port?: number; bind?: string }): Promise<void> {
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({
      env: runtime.env,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.bind === undefined ? {} : { bind: options.bind }),
      ...inheritedSocket(runtime.env),
    });
  } catch (error) {
    if (error instanceof ConfigRefused) {
      throw new CliFailure(`Hearth cannot start: the config is invalid.\n${error.message}`, EXIT_CONFIG);
    }
    if (error instanceof StoreDamaged) throw new CliFailure(`Hearth cannot start: ${error.message}`, EXIT_STORE_DAMAGED);
    throw new CliFailure(`Hearth cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  // Signals are handled before the address is printed: whoever waits for that line may stop the
  // gateway at once, and a signal without a handler would kill it without draining.
  const stopped = stopOnSignals(runtime, gateway);
  runtime.started?.();
  runtime.io.out(
    `Hearth is running at ${gateway.url}\nOpen ${gateway.url}/#token=${gateway.token} for the Control UI (the token stays in your browser); WebChat is at ${gateway.url}/webchat.\n`,
  );
  await stopped;
  // The supervisor's pipe would keep the process alive.
  if (runtime.env.HEARTH_SUPERVISED === '1') (runtime.stdin as NodeJS.ReadStream).destroy?.();
}

/** Resolves once the gateway has stopped after SIGTERM or SIGINT (a second one exits at once). */
function stopOnSignals(runtime: CliRuntime, gateway: { stop(): Promise<void> }): Promise<void> {
  return new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals > 1) {
        runtime.io.err('Stopping now without waiting for running turns.\n');
        process.exit(1);
      }
      gateway.stop().then(resolve, (error) => {
        runtime.io.err(`Stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (runtime.env.HEARTH_SUPERVISED === '1') stopWhenSupervisorGoes(runtime, onSignal);
  });
}

/** `hearth service` hands its gateway a bound socket as a file descriptor (HEARTH_LISTEN_FD). */
function inheritedSocket(env: Record<string, string | undefined>): { listenFd?: number } {
  const fd = Number(env.HEARTH_LISTEN_FD);
  return Number.isInteger(fd) && fd > 2 ? { listenFd: fd } : {};
}

/**
 * Under `hearth service`, standard input is a pipe from the supervisor: when it closes (the
 * supervisor died, even by kill -9), the gateway drains and exits instead of living on orphaned
 * and holding the port the next supervisor needs.
 */
function stopWhenSupervisorGoes(runtime: CliRuntime, stop: () => void): void {
  const input = runtime.stdin;
  input.on('data', () => {});
  input.once('end', () => {
    runtime.io.err('The supervisor has gone: stopping.\n');
    stop();
  });
  input.resume();
}

export function printToken(runtime: CliRuntime): void {
  const paths = resolveHearthPaths(runtime.env);
  const config = cliConfig(paths, runtime.env);
  const token = resolveGatewayToken(runtime.env, config, paths, true);
  runtime.io.out(`${token}\n`);
}

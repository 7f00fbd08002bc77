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
    });
  } catch (error) {
    if (error instanceof ConfigRefused) {
      throw new CliFailure(`Hearth cannot start: the config is invalid.\n${error.message}`, EXIT_CONFIG);
    }
    if (error instanceof StoreDamaged) throw new CliFailure(`Hearth cannot start: ${error.message}`, EXIT_STORE_DAMAGED);
    throw new CliFailure(`Hearth cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  runtime.io.out(
    `Hearth is running at ${gateway.url}\nOpen ${gateway.url}/#token=${gateway.token} for the Control UI (the token stays in your browser); WebChat is at ${gateway.url}/webchat.\n`,
  );
  await new Promise<void>((resolve) => {
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
  });
}

export function printToken(runtime: CliRuntime): void {
  const paths = resolveHearthPaths(runtime.env);
  const config = cliConfig(paths, runtime.env);
  const token = resolveGatewayToken(runtime.env, config, paths, true);
  runtime.io.out(`${token}\n`);
}

import { parseArgs } from 'node:util';
import { notifyReady, notifyStopping } from '../systemd/notify.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from './config.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';
import { startGrpcServer, stopGrpcServer } from './server.js';
import { VERSION } from './version.js';

/**
 * containerd-ts: load config, open state, serve gRPC, tell systemd we are
 * ready once the socket listens, stop gracefully on SIGTERM/SIGINT.
 * Containers and their shims keep running across a stop (KillMode=process).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c', default: DEFAULT_CONFIG_PATH },
      address: { type: 'string', short: 'a' },
      root: { type: 'string' },
      state: { type: 'string' },
      'log-level': { type: 'string', short: 'l' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('Usage: containerd-ts [--config FILE] [--address SOCK] [--root DIR] [--state DIR] [--log-level LEVEL]\n');
    return;
  }
  if (values.version) {
    process.stdout.write(`containerd-ts ${VERSION.version} ${VERSION.revision}\n`);
    return;
  }
  const config = await loadConfig(values.config, {
    address: values.address,
    root: values.root,
    state: values.state,
    logLevel: values['log-level'] as 'info' | undefined,
  });
  const log = createLogger(config.logLevel);
  const daemon = await Daemon.open(config, log);
  await daemon.tasks.recover();
  const server = await startGrpcServer(daemon);
  log.info('containerd-ts serving', { address: config.address, root: config.root, state: config.state, version: VERSION.version });
  await notifyReady(`serving on ${config.address}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await notifyStopping();
    await stopGrpcServer(server);
    await daemon.close();
    log.info('stopped; containers keep running');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`containerd-ts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

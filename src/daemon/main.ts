import { parseArgs } from 'node:util';
import { loadProtoRoot } from '../proto.js';
import { notifyReady, notifyStopping } from '../systemd/notify.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from './config.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';
import { startGrpcServer, stopGrpcServer } from './server.js';
import { StepTimer } from './tasks/step-timer.js';
import { VERSION } from './version.js';

/** What the program that loaded the daemon offers it (bin/containerd-ts). */
export interface DaemonHooks {
  /** Keeps V8's code for the daemon as compiled so far for its next start; returns where, if it did. */
  saveCodeCache?: () => string | undefined;
}

/**
 * How long after it serves the daemon keeps its compiled code: start-up and
 * recovery are in it by then, and often the first calls; later, V8 may have
 * dropped the code that only ran at load (bytecode flushing).
 */
const CODE_CACHE_AFTER_MS = 1000;

/**
 * containerd-ts: load config, open state, serve gRPC, tell systemd we are
 * ready once the socket listens, stop gracefully on SIGTERM/SIGINT.
 * Containers and their shims keep running across a stop (KillMode=process).
 */
async function main(hooks: DaemonHooks): Promise<void> {
  // Start-up's steps go into the "serving" line: a slow restart shows in the journal where it went.
  const timer = new StepTimer(0);
  timer.mark('node+load');
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
  timer.mark('config');
  const daemon = await Daemon.open(config, log);
  timer.mark('open');
  // Recovery's first D-Bus call comes after it has found the shims: the connection's handshake goes on meanwhile.
  daemon.bus.warmUp();
  await daemon.tasks.recover();
  timer.mark('recover');
  const server = await startGrpcServer(daemon);
  timer.mark('grpc');
  const startup = timer.summary();
  log.info('containerd-ts serving', { address: config.address, root: config.root, state: config.state, version: VERSION.version, startup_ms: startup.ms, steps: startup.steps });
  await notifyReady(`serving on ${config.address}`);
  // The gRPC methods build the API's protobufjs types with their first message (~30-45 ms):
  // build them now, while the first client is still starting, not on its call's path.
  setImmediate(loadProtoRoot);
  setImmediate(() => daemon.afterServing());
  if (hooks.saveCodeCache) {
    const save = hooks.saveCodeCache;
    setTimeout(() => {
      try {
        const file = save();
        if (file) log.info('code cache written for the next start', { file });
      } catch (err) {
        log.warn('cannot write the code cache', { error: (err as Error).message });
      }
    }, CODE_CACHE_AFTER_MS).unref();
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const steps = new StepTimer();
    log.info('stopping', { signal });
    await notifyStopping();
    await stopGrpcServer(server);
    steps.mark('grpc');
    await daemon.close();
    steps.mark('close');
    log.info('stopped; containers keep running', steps.summary());
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Runs the daemon (bin/containerd-ts calls this once its bundle is loaded); a start-up failure exits 1. */
export function runDaemon(hooks: DaemonHooks = {}): void {
  main(hooks).catch((err: unknown) => {
    process.stderr.write(`containerd-ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

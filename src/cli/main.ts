import { isRuntimeError, invalidArgument, type RuntimeError } from '../errors.js';
import { describeOptions, parseArgs, table, type OptionSpec, type Parsed } from './args.js';
import { DaemonClient } from './client.js';
const DEFAULT_ADDRESS = '/run/containerd-ts/containerd-ts.sock';

const globalOptions: Record<string, OptionSpec> = {
  address: { type: 'string', short: 'a', description: `daemon socket (env CONTAINERD_TS_ADDRESS, default ${DEFAULT_ADDRESS})`, placeholder: 'PATH' },
  namespace: { type: 'string', short: 'n', description: 'namespace (env CONTAINERD_NAMESPACE, default "default")', placeholder: 'NS' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

type Action = (client: DaemonClient, args: Parsed) => Promise<number>;

/** What a command's module gives once loaded: its options and what it does. */
interface Loaded {
  options?: Record<string, OptionSpec>;
  action: Action;
}

interface Command {
  summary: string;
  usage: string;
  /** Positionals after which the rest of argv is passed through untouched. */
  fixed?: number;
  /**
   * Loads the command's module when it runs. The bundle inlines these
   * import()s as lazily initialised modules: a command does not pay for
   * the others' top-level code and the Node built-ins they require
   * (child_process, fs/promises, crypto, ...), which was most of start-up.
   */
  load: () => Promise<Loaded>;
}

const stateDir = () => process.env.CONTAINERD_TS_STATE ?? '/run/containerd-ts';

const COMMANDS: Record<string, Command> = {
  version: {
    summary: 'show client and daemon versions',
    usage: 'version',
    load: async () => ({
      action: async (client) => {
        const { VERSION } = await import('../daemon/version.js');
        process.stdout.write(`Client:\n  Version:  ${VERSION.version}\n\n`);
        const v = await client.call('version', 'Version', {});
        process.stdout.write(`Server:\n  Version:  ${v.version}\n  Revision: ${v.revision}\n`);
        return 0;
      },
    }),
  },
  run: { summary: 'run a container from an image', usage: 'run [OPTIONS] IMAGE ID [COMMAND [ARG...]]', fixed: 2, load: async () => { const m = await import('./commands/run.js'); return { options: m.runOptions, action: (c, a) => m.run(c, a, stateDir()) }; } },
  'images pull': { summary: 'pull an image from a registry (the daemon fetches and unpacks it)', usage: 'images pull [OPTIONS] REF', load: async () => { const m = await import('./commands/pull.js'); return { options: m.pullOptions, action: m.imagesPull }; } },
  'images import': { summary: 'import an OCI image archive or a docker save archive (file or - for stdin)', usage: 'images import [--platform P | --all-platforms] FILE', load: async () => { const [m, e] = await Promise.all([import('./commands/images.js'), import('./commands/images-export.js')]); return { options: e.platformOptions, action: m.imagesImport }; } },
  'images export': { summary: 'write images to an OCI image archive (with docker\'s manifest.json)', usage: 'images export [--platform P | --all-platforms] OUT.tar|- REF [REF...]', load: async () => { const m = await import('./commands/images-export.js'); return { options: m.platformOptions, action: m.imagesExport }; } },
  'images tag': { summary: 'give an image another name', usage: 'images tag [--force] SRC DST [DST...]', load: async () => { const m = await import('./commands/images-inspect.js'); return { options: m.tagOptions, action: m.imagesTag }; } },
  'images inspect': { summary: "show an image's manifest, config, layers, platform and size", usage: 'images inspect [--platform P] [--json] REF', load: async () => { const m = await import('./commands/images-inspect.js'); return { options: m.inspectOptions, action: m.imagesInspect }; } },
  'images ls': { summary: 'list images', usage: 'images ls', load: async () => ({ action: (await import('./commands/images.js')).imagesList }) },
  'images rm': { summary: 'remove images', usage: 'images rm NAME [NAME...]', load: async () => ({ action: (await import('./commands/images.js')).imagesRemove }) },
  'containers ls': { summary: 'list containers', usage: 'containers ls', load: async () => ({ action: (await import('./commands/containers.js')).containersList }) },
  'containers info': { summary: 'show a container record as JSON (spec decoded)', usage: 'containers info ID', load: async () => ({ action: (await import('./commands/containers.js')).containersInfo }) },
  'containers rm': { summary: 'remove containers (and their snapshots)', usage: 'containers rm ID [ID...]', load: async () => ({ action: (await import('./commands/containers.js')).containersRemove }) },
  'tasks ls': { summary: 'list tasks', usage: 'tasks ls', load: async () => ({ action: (await import('./commands/tasks.js')).tasksList }) },
  'tasks kill': { summary: 'signal a task', usage: 'tasks kill [OPTIONS] ID', load: async () => { const m = await import('./commands/tasks.js'); return { options: m.killOptions, action: m.tasksKill }; } },
  'tasks rm': { summary: 'delete stopped tasks', usage: 'tasks rm ID [ID...]', load: async () => ({ action: (await import('./commands/tasks.js')).tasksRemove }) },
  'tasks exec': { summary: 'run another process in a running container', usage: 'tasks exec [-t] [-i] [--exec-id X] ID COMMAND [ARG...]', fixed: 1, load: async () => { const m = await import('./commands/exec.js'); return { options: m.execOptions, action: (c, a) => m.tasksExec(c, a, stateDir()) }; } },
  'tasks attach': { summary: "follow a detached task's output (and feed its stdin if it has one)", usage: 'tasks attach ID', load: async () => ({ action: (await import('./commands/attach.js')).tasksAttach }) },
  'tasks pause': { summary: 'freeze a task', usage: 'tasks pause ID', load: async () => ({ action: (await import('./commands/tasks.js')).tasksPause }) },
  'tasks resume': { summary: 'thaw a paused task', usage: 'tasks resume ID', load: async () => ({ action: (await import('./commands/tasks.js')).tasksResume }) },
  'tasks ps': { summary: "list a task's processes", usage: 'tasks ps ID', load: async () => ({ action: (await import('./commands/tasks.js')).tasksPs }) },
  'tasks wait': { summary: 'wait for a task to exit; exits with its status', usage: 'tasks wait ID', load: async () => ({ action: (await import('./commands/tasks.js')).tasksWait }) },
  'tasks metrics': { summary: "memory, CPU, pids and IO of a task's scope", usage: 'tasks metrics ID', load: async () => ({ action: (await import('./commands/update.js')).tasksMetrics }) },
  update: { summary: "change a running container's limits (its scope's MemoryMax, CPUQuotaPerSecUSec, TasksMax)", usage: 'update [OPTIONS] ID', load: async () => { const m = await import('./commands/update.js'); return { options: m.updateOptions, action: m.update }; } },
  'tasks update': { summary: 'same as update (the name ctr uses)', usage: 'tasks update [OPTIONS] ID', load: () => COMMANDS.update!.load() },
  logs: { summary: "print a detached container's output (-f follows)", usage: 'logs [-f] ID', load: async () => { const m = await import('./commands/logs.js'); return { options: m.logsOptions, action: m.logs }; } },
  events: { summary: 'print events as they happen (Ctrl-C stops)', usage: 'events [--filter F]...', load: async () => { const m = await import('./commands/events.js'); return { options: m.eventsOptions, action: m.events }; } },
  'content ls': { summary: 'list blobs in the content store', usage: 'content ls', load: async () => ({ action: (await import('./commands/content.js')).contentList }) },
  'content rm': { summary: 'remove blobs from the namespace (a file goes once no namespace has it)', usage: 'content rm DIGEST [DIGEST...]', load: async () => ({ action: (await import('./commands/content.js')).contentRemove }) },
  'snapshots ls': { summary: 'list snapshots', usage: 'snapshots ls', load: async () => ({ action: (await import('./commands/snapshots.js')).snapshotsList }) },
  'snapshots rm': { summary: 'remove snapshots', usage: 'snapshots rm KEY [KEY...]', load: async () => ({ action: (await import('./commands/snapshots.js')).snapshotsRemove }) },
  'snapshots usage': { summary: "disk use of snapshots' own layers", usage: 'snapshots usage [KEY...]', load: async () => ({ action: (await import('./commands/snapshots.js')).snapshotsUsage }) },
  'namespaces ls': {
    summary: 'list namespaces',
    usage: 'namespaces ls',
    load: async () => ({
      action: async (client) => {
        const { namespaces } = await client.call('namespaces', 'List', {});
        process.stdout.write(table(['NAME', 'LABELS'], namespaces.map((n) => [n.name, Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(',')])));
        return 0;
      },
    }),
  },
};

const ALIASES: Record<string, string> = { image: 'images', i: 'images', container: 'containers', c: 'containers', task: 'tasks', t: 'tasks', namespace: 'namespaces', ns: 'namespaces', snapshot: 'snapshots', list: 'ls', remove: 'rm', delete: 'rm', del: 'rm' };

function help(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(16)} ${c.summary}`);
  return `ctr-ts: the containerd-ts client\n\nUsage: ctr-ts [GLOBAL OPTIONS] COMMAND [ARGS]\n\nCommands:\n${rows.join('\n')}\n\nGlobal options:\n${describeOptions(globalOptions)}\n\nRun "ctr-ts COMMAND --help" for a command's options.\n`;
}

/** Finds the command: one word ("run") or two ("images ls"), with ctr's aliases. */
function lookup(words: string[]): { name: string; command: Command; rest: string[] } | undefined {
  const [a, b] = words.map((w) => ALIASES[w] ?? w);
  if (a && b && COMMANDS[`${a} ${b}`]) return { name: `${a} ${b}`, command: COMMANDS[`${a} ${b}`]!, rest: words.slice(2) };
  if (a && COMMANDS[a]) return { name: a, command: COMMANDS[a]!, rest: words.slice(1) };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const global = parseArgs(argv, globalOptions, 1);
  const words = [...global.positionals, ...global.rest];
  if (global.options.help || words.length === 0) {
    process.stdout.write(help());
    return words.length === 0 && !global.options.help ? 1 : 0;
  }
  const found = lookup(words);
  if (!found) throw invalidArgument(`unknown command "${words.slice(0, 2).join(' ')}"; run ctr-ts --help`);
  const { options, action } = await found.command.load();
  const spec = { ...(options ?? {}), help: globalOptions.help! };
  const args = parseArgs(found.rest, spec, found.command.fixed);
  if (args.options.help) {
    process.stdout.write(`Usage: ctr-ts ${found.command.usage}\n\n${found.command.summary}\n${options ? `\nOptions:\n${describeOptions(options)}\n` : ''}`);
    return 0;
  }
  const address = (global.options.address as string | undefined) ?? process.env.CONTAINERD_TS_ADDRESS ?? DEFAULT_ADDRESS;
  const namespace = (global.options.namespace as string | undefined) ?? process.env.CONTAINERD_NAMESPACE ?? 'default';
  const client = new DaemonClient(address, namespace);
  // grpc-js does not keep the event loop alive for an outstanding call: without
  // this, a command waiting only on a gRPC answer (tasks Wait) could exit early with 0.
  const hold = setInterval(() => {}, 2 ** 30);
  try {
    return await action(client, args);
  } finally {
    clearInterval(hold);
    client.close();
  }
}

/** Prints an error the way a user can act on it; exit status 1 like ctr. */
export function reportError(err: unknown): number {
  const message = isRuntimeError(err) ? (err as RuntimeError).message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`ctr-ts: ${message}\n`);
  return 1;
}

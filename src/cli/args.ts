import { invalidArgument } from '../errors.js';

/** One option a command accepts. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  multiple?: boolean;
  description: string;
  placeholder?: string;
}

export interface Parsed {
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Everything after the last fixed positional (a command line, e.g. for `run`). */
  rest: string[];
}

/**
 * Parses `argv` against `spec`. Options are read until `fixedPositionals`
 * positionals were seen; everything after that is left verbatim in `rest`,
 * so `ctr-ts run IMAGE ID sh -c 'exit 1'` keeps `-c` for the container.
 */
export function parseArgs(argv: string[], spec: Record<string, OptionSpec>, fixedPositionals = Infinity): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).filter(([, s]) => s.short).map(([name, s]) => [s.short!, name]));
  let i = 0;
  let optionsEnded = false;
  for (; i < argv.length && positionals.length < fixedPositionals; i++) {
    const arg = argv[i]!;
    if (arg === '--' && !optionsEnded) {
      optionsEnded = true;
      continue;
    }
    if (optionsEnded) {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const name = flag.startsWith('--') ? flag.slice(2) : byShort.get(flag.slice(1));
    const s = name !== undefined ? spec[name] : undefined;
    if (!name || !s) throw invalidArgument(`unknown option ${flag}`);
    if (s.type === 'boolean') {
      options[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw invalidArgument(`option ${flag} needs a value`);
    if (s.multiple) options[name] = [...((options[name] as string[] | undefined) ?? []), value];
    else options[name] = value;
  }
  return { options, positionals, rest: argv.slice(i) };
}

/** Formats the option list for --help. */
export function describeOptions(spec: Record<string, OptionSpec>): string {
  return Object.entries(spec)
    .map(([name, s]) => {
      const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.type === 'string' ? ` ${s.placeholder ?? 'VALUE'}` : ''}`;
      return `  ${flag.padEnd(28)} ${s.description}`;
    })
    .join('\n');
}

/** Prints rows as aligned columns, like ctr's tabwriter output. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]! + 4))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

import { invalidArgument } from '../../errors.js';

/** What an event filter can look at (containerd's envelope fields). */
export interface EventFields {
  namespace: string;
  topic: string;
}

type Clause = { field: keyof EventFields; op: '==' | '!=' | '~='; value: string; re?: RegExp };

/**
 * containerd's event filter syntax, the part `ctr events` and clients use:
 * `topic=="/tasks/exit"`, `namespace==default`, `topic~="^/tasks/"`;
 * clauses joined by `,` must all hold; any one filter of a list may match.
 */
export function compileFilters(filters: string[]): (e: EventFields) => boolean {
  const compiled = filters.filter((f) => f.trim()).map(parseFilter);
  if (compiled.length === 0) return () => true;
  return (e) => compiled.some((clauses) => clauses.every((c) => test(c, e)));
}

function parseFilter(filter: string): Clause[] {
  return filter.split(',').map((text) => {
    const m = /^\s*(topic|namespace)\s*(==|!=|~=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$/.exec(text);
    if (!m) throw invalidArgument(`invalid event filter "${text}": use topic=="/tasks/exit" or namespace==default (also != and ~=)`);
    const value = m[3] ?? m[4] ?? '';
    const clause: Clause = { field: m[1] as keyof EventFields, op: m[2] as Clause['op'], value };
    if (clause.op === '~=') {
      try {
        clause.re = new RegExp(value);
      } catch {
        throw invalidArgument(`invalid regular expression in event filter "${text}"`);
      }
    }
    return clause;
  });
}

function test(c: Clause, e: EventFields): boolean {
  const actual = e[c.field];
  if (c.op === '==') return actual === c.value;
  if (c.op === '!=') return actual !== c.value;
  return c.re!.test(actual);
}

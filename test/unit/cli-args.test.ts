import { expect } from 'chai';
import { isRuntimeError } from '../../src/errors.js';
import { describeOptions, parseArgs, table, type OptionSpec } from '../../src/cli/args.js';
import { normalizeImageRef } from '../../src/cli/image-ref.js';
import { parseSignal } from '../../src/cli/commands/tasks.js';

const SPEC: Record<string, OptionSpec> = {
  memory: { type: 'string', description: 'memory limit', placeholder: 'SIZE' },
  env: { type: 'string', short: 'e', multiple: true, description: 'env KEY=VALUE', placeholder: 'KV' },
  detach: { type: 'boolean', short: 'd', description: 'detach' },
  rm: { type: 'boolean', description: 'remove after exit' },
  user: { type: 'string', short: 'u', description: 'user' },
};

function invalid(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(isRuntimeError(err, 'InvalidArgument'), String(err)).to.equal(true);
    return err as Error;
  }
  expect.fail('expected InvalidArgument');
}

describe('cli/args', () => {
  describe('parseArgs', () => {
    it('reads long and short options, with a separate or an inline value', () => {
      const p = parseArgs(['--memory', '64M', '-u', 'nobody', 'img'], SPEC);
      expect(p.options).to.deep.equal({ memory: '64M', user: 'nobody' });
      expect(p.positionals).to.deep.equal(['img']);
      expect(parseArgs(['--memory=1g', '-u=1000:1000'], SPEC).options).to.deep.equal({ memory: '1g', user: '1000:1000' });
    });

    it('keeps everything after the first "=" of an inline value', () => {
      expect(parseArgs(['--env=A=b=c', '-e', 'X='], SPEC).options.env).to.deep.equal(['A=b=c', 'X=']);
    });

    it('collects repeated multiple options in order; the last single value wins', () => {
      const p = parseArgs(['-e', 'A=1', '--env', 'B=2', '--env=C=3', '--memory', '1m', '--memory', '2m'], SPEC);
      expect(p.options.env).to.deep.equal(['A=1', 'B=2', 'C=3']);
      expect(p.options.memory).to.equal('2m');
    });

    it('reads booleans, including --flag=false', () => {
      expect(parseArgs(['-d', '--rm'], SPEC).options).to.deep.equal({ detach: true, rm: true });
      expect(parseArgs(['--rm=false', '--detach=true'], SPEC).options).to.deep.equal({ rm: false, detach: true });
    });

    it('does not let a boolean eat the next word', () => {
      const p = parseArgs(['-d', 'busybox', 'c1'], SPEC);
      expect(p.options.detach).to.equal(true);
      expect(p.positionals).to.deep.equal(['busybox', 'c1']);
    });

    it('rejects unknown options, naming them', () => {
      expect(invalid(() => parseArgs(['--memroy', '1g'], SPEC)).message).to.contain('--memroy');
      expect(invalid(() => parseArgs(['-x'], SPEC)).message).to.contain('-x');
    });

    it('rejects a value option at the end of the line, naming it', () => {
      expect(invalid(() => parseArgs(['img', '--memory'], SPEC)).message).to.contain('--memory');
      expect(invalid(() => parseArgs(['-e'], SPEC)).message).to.contain('-e');
    });

    it('takes a lone "-" as a positional (stdin)', () => {
      expect(parseArgs(['-'], SPEC).positionals).to.deep.equal(['-']);
    });

    it("with fixed positionals, leaves the container's command untouched in rest", () => {
      const p = parseArgs(['--rm', '-e', 'A=1', 'busybox', 'c1', 'sh', '-c', 'exit 1', '--memory', '-d'], SPEC, 2);
      expect(p.positionals).to.deep.equal(['busybox', 'c1']);
      expect(p.rest).to.deep.equal(['sh', '-c', 'exit 1', '--memory', '-d']);
      expect(p.options).to.deep.equal({ rm: true, env: ['A=1'] });
    });

    it('with fixed positionals and no command, rest is empty', () => {
      expect(parseArgs(['busybox', 'c1'], SPEC, 2).rest).to.deep.equal([]);
    });

    it('"--" ends option parsing: the words after it are not read as options', () => {
      const p = parseArgs(['-d', '--', '--rm', '-x'], SPEC);
      expect(p.options).to.deep.equal({ detach: true });
      expect([...p.positionals, ...p.rest]).to.deep.equal(['--rm', '-x']);
    });

    // Regression test (was a bug): src/cli/args.ts parseArgs (the `arg === '--'` branch, line ~31) breaks out of the loop, so
    // words after "--" never become positionals: `ctr-ts images rm -- NAME` sees no NAME ("usage"
    // error) and `ctr-ts run -d -- busybox c1 sh` has no IMAGE/ID. getopt and node:util parseArgs
    // treat every word after "--" as a positional. Fix: on "--", stop reading options but keep filling
    // positionals up to `fixedPositionals` from the remaining words; put only what is left in `rest`.
    it('words after "--" still fill the positionals (getopt semantics)', () => {
      expect(parseArgs(['--', 'a', 'b'], SPEC).positionals).to.deep.equal(['a', 'b']);
      const run = parseArgs(['-d', '--', 'busybox', 'c1', 'sh', '-c', 'x'], SPEC, 2);
      expect(run.positionals).to.deep.equal(['busybox', 'c1']);
      expect(run.rest).to.deep.equal(['sh', '-c', 'x']);
    });
  });

  describe('table', () => {
    it('aligns columns to the widest cell plus padding and ends with a newline', () => {
      const out = table(['TASK', 'PID', 'STATUS'], [
        ['c1', '123', 'RUNNING'],
        ['a-much-longer-id', '4', 'STOPPED'],
      ]);
      const lines = out.split('\n');
      expect(lines.pop()).to.equal('');
      expect(lines).to.have.length(3);
      const pidCol = lines[0]!.indexOf('PID');
      const statusCol = lines[0]!.indexOf('STATUS');
      expect(pidCol).to.equal('a-much-longer-id'.length + 4);
      for (const l of lines.slice(1)) {
        expect(l.slice(pidCol).split(/\s+/)[0]).to.match(/^\d+$/);
        expect(l.slice(statusCol)).to.match(/^(RUNNING|STOPPED)$/);
      }
    });

    it('prints no trailing spaces, even with an empty last cell', () => {
      const out = table(['NAME', 'LABELS'], [['default', '']]);
      for (const l of out.split('\n')) expect(l).to.equal(l.trimEnd());
      expect(out).to.equal('NAME       LABELS\ndefault\n');
    });

    it('prints just the header when there are no rows', () => {
      expect(table(['A', 'B'], [])).to.equal('A    B\n');
    });
  });

  describe('describeOptions', () => {
    it('lists each option with its short form, placeholder and description', () => {
      const lines = describeOptions(SPEC).split('\n');
      expect(lines).to.have.length(Object.keys(SPEC).length);
      expect(lines[0]).to.match(/^ {2} {4}--memory SIZE\s+memory limit$/);
      expect(lines[1]).to.match(/^ {2}-e, --env KV\s+env KEY=VALUE$/);
      expect(lines[2]).to.match(/^ {2}-d, --detach\s+detach$/);
      expect(lines[4]).to.match(/^ {2}-u, --user VALUE\s+user$/);
      // Descriptions start in one column.
      const cols = lines.map((l, i) => l.lastIndexOf(Object.values(SPEC)[i]!.description));
      expect(new Set(cols).size, lines.join('\n')).to.equal(1);
    });
  });
});

describe('cli/image-ref normalizeImageRef', () => {
  it('expands short Docker Hub names like docker and ctr users expect', () => {
    expect(normalizeImageRef('busybox')).to.equal('docker.io/library/busybox:latest');
    expect(normalizeImageRef('busybox:1.36')).to.equal('docker.io/library/busybox:1.36');
    expect(normalizeImageRef('user/app')).to.equal('docker.io/user/app:latest');
    expect(normalizeImageRef('user/app:v2')).to.equal('docker.io/user/app:v2');
  });

  it('keeps a registry host (with port, dot or localhost) and adds :latest', () => {
    expect(normalizeImageRef('localhost:5000/x')).to.equal('localhost:5000/x:latest');
    expect(normalizeImageRef('localhost/x')).to.equal('localhost/x:latest');
    expect(normalizeImageRef('registry.example.com/team/app')).to.equal('registry.example.com/team/app:latest');
    expect(normalizeImageRef('localhost:5000/x:dev')).to.equal('localhost:5000/x:dev');
  });

  it('leaves full references unchanged', () => {
    expect(normalizeImageRef('quay.io/a/b:tag')).to.equal('quay.io/a/b:tag');
    expect(normalizeImageRef('docker.io/library/busybox:latest')).to.equal('docker.io/library/busybox:latest');
  });

  it('keeps digests', () => {
    const d = `sha256:${'c'.repeat(64)}`;
    expect(normalizeImageRef(`quay.io/a/b@${d}`)).to.equal(`quay.io/a/b@${d}`);
    expect(normalizeImageRef(`docker.io/library/busybox@${d}`)).to.equal(`docker.io/library/busybox@${d}`);
  });

  it('rejects empty and whitespace-containing references', () => {
    for (const bad of ['', 'a b', ' busybox', 'busybox\n']) {
      expect(() => normalizeImageRef(bad), JSON.stringify(bad)).to.throw().with.property('kind', 'InvalidArgument');
    }
  });

  // Regression test (was a bug): src/cli/image-ref.ts normalizeImageRef returns any ref containing '@' unchanged (line ~11), so
  // "busybox@sha256:..." gets no registry, and "docker.io/busybox" is not given "library/". It
  // duplicates src/oci/distribution/reference.ts parseReference/formatReference, which does both
  // (docker.io/library/busybox@sha256:..., docker.io/library/busybox:latest) and names the records,
  // so `ctr-ts run busybox@sha256:...` / `images rm docker.io/busybox` look up a name that is never
  // stored. Fix: `return formatReference(parseReference(ref))` (also validates tags/paths).
  it('normalises short names that carry a digest, and docker.io/<name> to library/', () => {
    const d = `sha256:${'c'.repeat(64)}`;
    expect(normalizeImageRef(`busybox@${d}`)).to.equal(`docker.io/library/busybox@${d}`);
    expect(normalizeImageRef(`user/app@${d}`)).to.equal(`docker.io/user/app@${d}`);
    expect(normalizeImageRef('docker.io/busybox')).to.equal('docker.io/library/busybox:latest');
  });
});

describe('cli/commands/tasks parseSignal', () => {
  it('accepts names with or without SIG, in any case, and numbers', () => {
    expect(parseSignal('KILL')).to.equal(9);
    expect(parseSignal('SIGKILL')).to.equal(9);
    expect(parseSignal('9')).to.equal(9);
    expect(parseSignal('sigterm')).to.equal(15);
    expect(parseSignal('term')).to.equal(15);
    expect(parseSignal('HUP')).to.equal(1);
    expect(parseSignal('64')).to.equal(64);
  });

  it('rejects unknown names and numbers outside 1..64, naming the input', () => {
    for (const bad of ['nope', '0', '65', '-9', '', 'SIG', '9x']) {
      try {
        parseSignal(bad);
        expect.fail(`"${bad}" accepted`);
      } catch (err) {
        expect(isRuntimeError(err, 'InvalidArgument'), `${bad}: ${String(err)}`).to.equal(true);
        expect((err as Error).message).to.contain(`"${bad}"`);
      }
    }
  });
});

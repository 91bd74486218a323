import { expect } from 'chai';
import { createLogger, formatLine } from '../../src/daemon/logger.js';

describe('daemon/logger (lines for the journal)', () => {
  it('writes level, message and key=value fields, quoting values with spaces and non-strings as JSON', () => {
    expect(formatLine('info', 'task created', { id: 'web', pid: 42, steps: 'a=1 b=2', ok: true, stack: 'dropped' })).to.equal(
      'info: task created id=web pid=42 steps="a=1 b=2" ok=true',
    );
    expect(formatLine('warn', 'no fields')).to.equal('warn: no fields');
    expect(formatLine('error', 'timed', {}, new Date('2026-11-23T01:02:03.004Z'))).to.equal('2026-11-23T01:02:03.004Z error: timed');
  });

  it('writes what is at its level or above, one line each; silent writes nothing', () => {
    const lines: string[] = [];
    const saved = process.env.JOURNAL_STREAM;
    process.env.JOURNAL_STREAM = '8:123'; // under the journal: no time prefix
    try {
      const log = createLogger('warn', (l) => void lines.push(l));
      log.debug('d');
      log.info('i');
      log.warn('w', { k: 'v' });
      log.error('e');
      createLogger('silent', (l) => void lines.push(l)).error('never');
    } finally {
      if (saved === undefined) delete process.env.JOURNAL_STREAM;
      else process.env.JOURNAL_STREAM = saved;
    }
    expect(lines).to.deep.equal(['warn: w k=v\n', 'error: e\n']);
  });
});

import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { LogReader, olderLogs } from '../../src/cli/log-reader.js';
import { needsRotation, RotatingLog, rotatedLogs, rotationSteps } from '../../src/shim/rotating-log.js';

/** Collects what a reader writes. */
function sink(): { out: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const out = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('shim/rotating-log', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync('/var/tmp/ctrd-ts-rotate-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('policy', () => {
    const policy = { maxBytes: 100, keep: 2 };
    it('rotates only when the next write would pass the limit, never an empty file', () => {
      expect(needsRotation(0, 500, policy)).to.equal(false);
      expect(needsRotation(60, 40, policy)).to.equal(false);
      expect(needsRotation(60, 41, policy)).to.equal(true);
      expect(needsRotation(100, 1, policy)).to.equal(true);
    });

    it('drops the oldest kept file, shifts the rest, and makes the live file .1', () => {
      expect(rotationSteps('/l/x.log', 3)).to.deep.equal([
        { op: 'remove', path: '/l/x.log.3' },
        { op: 'rename', from: '/l/x.log.2', to: '/l/x.log.3' },
        { op: 'rename', from: '/l/x.log.1', to: '/l/x.log.2' },
        { op: 'rename', from: '/l/x.log', to: '/l/x.log.1' },
      ]);
      expect(rotationSteps('/l/x.log', 0)).to.deep.equal([{ op: 'remove', path: '/l/x.log' }]);
    });
  });

  it('keeps at most `keep` rotated files of at most maxBytes each, newest in .1, nothing lost in between', () => {
    const file = path.join(dir, 'c.log');
    const log = new RotatingLog(file, { maxBytes: 4096, keep: 2 });
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`);
    for (const l of lines) log.write(Buffer.from(l));
    log.close();
    expect(readdirSync(dir).sort()).to.deep.equal(['c.log', 'c.log.1', 'c.log.2']);
    for (const f of ['c.log', 'c.log.1', 'c.log.2']) expect(statSync(path.join(dir, f)).size).to.be.at.most(4096);
    const kept = ['c.log.2', 'c.log.1', 'c.log'].map((f) => readFileSync(path.join(dir, f), 'utf8')).join('');
    expect(lines.join('').endsWith(kept)).to.equal(true);
    expect(kept.startsWith('line ')).to.equal(true);
  });

  it('appends to an existing log and counts its size (a reconnecting shim does not start over)', () => {
    const file = path.join(dir, 'c.log');
    new RotatingLog(file, { maxBytes: 4096, keep: 1 }).close();
    const a = new RotatingLog(file, { maxBytes: 4096, keep: 1 });
    a.write(Buffer.alloc(4000, 'a'));
    a.close();
    const b = new RotatingLog(file, { maxBytes: 4096, keep: 1 });
    b.write(Buffer.alloc(200, 'b'));
    b.close();
    expect(readFileSync(`${file}.1`, 'utf8')).to.equal('a'.repeat(4000));
    expect(readFileSync(file, 'utf8')).to.equal('b'.repeat(200));
  });

  it('lists rotated files newest first by number, ignoring other names', async () => {
    const file = path.join(dir, 'c.log');
    const log = new RotatingLog(file, { maxBytes: 4096, keep: 12 });
    for (let i = 0; i < 12; i++) log.write(Buffer.alloc(4000, 'z'));
    log.close();
    new RotatingLog(path.join(dir, 'c.log.old'), { maxBytes: 4096, keep: 0 }).close();
    const listed = await rotatedLogs(file);
    expect(listed.map((p) => path.basename(p))).to.deep.equal(Array.from({ length: 11 }, (_, i) => `c.log.${i + 1}`));
    expect((await olderLogs(file))[0]).to.equal(`${file}.11`);
  });

  it('a log reader follows the live file across rotations without losing or repeating a byte', async () => {
    const file = path.join(dir, 'c.log');
    const log = new RotatingLog(file, { maxBytes: 4096, keep: 1 });
    const reader = await LogReader.open(file);
    const { out, text } = sink();
    let written = '';
    for (let i = 0; i < 300; i++) {
      const line = `entry ${i} ${'.'.repeat(20)}\n`;
      log.write(Buffer.from(line));
      written += line;
      // One rotation at most between two reads, as with logs -f polling a slower writer.
      if (i % 50 === 49) await reader.drain(out);
    }
    await reader.drain(out);
    log.close();
    await reader.close();
    expect(text()).to.equal(written);
  });

  it('a reader opened at the end (attach) sees only what comes after', async () => {
    const file = path.join(dir, 'c.log');
    const log = new RotatingLog(file, { maxBytes: 4096, keep: 1 });
    log.write(Buffer.from('old\n'));
    const reader = await LogReader.open(file, true);
    log.write(Buffer.from('new\n'));
    const { out, text } = sink();
    await reader.drain(out);
    log.close();
    await reader.close();
    expect(text()).to.equal('new\n');
  });
});

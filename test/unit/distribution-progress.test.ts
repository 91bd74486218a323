import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { PullProgressRenderer, formatDuration, kindOf, rate } from '../../src/cli/commands/pull-progress.js';

describe('cli pull progress', () => {
  it('names descriptor kinds', () => {
    expect(kindOf('application/vnd.oci.image.index.v1+json')).to.equal('index');
    expect(kindOf('application/vnd.docker.distribution.manifest.list.v2+json')).to.equal('index');
    expect(kindOf('application/vnd.docker.distribution.manifest.v2+json')).to.equal('manifest');
    expect(kindOf('application/vnd.oci.image.config.v1+json')).to.equal('config');
    expect(kindOf('application/vnd.oci.image.layer.v1.tar+gzip')).to.equal('layer');
  });

  it('computes speed and ETA from the bytes of this download only', () => {
    expect(rate({ offset: 600, total: 1000, startOffset: 100, startedAt: 0 }, 1000)).to.deep.equal({ speed: 500, eta: 0.8 });
    expect(rate({ offset: 0, total: 1000 }, 1000)).to.deep.equal({});
  });

  it('formats durations', () => {
    expect(formatDuration(1.25)).to.equal('1.3s');
    expect(formatDuration(75)).to.equal('1m15s');
    expect(formatDuration(3700)).to.equal('1h01m');
  });

  it('prints plain lines on status changes when not on a terminal', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    let now = 0;
    const r = new PullProgressRenderer(out, 'reg/app:1', false, () => now);
    const layer = { digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', total: 2048 };
    r.update({ ...layer, offset: 0, status: 'waiting' });
    r.update({ ...layer, offset: 0, status: 'downloading' });
    now = 1000;
    r.update({ ...layer, offset: 1024, status: 'downloading' });
    now = 2000;
    r.update({ ...layer, offset: 2048, status: 'done' });
    r.finish('reg/app:1', 'sha256:abc');
    const lines = text.trim().split('\n');
    expect(lines[0]).to.equal('reg/app:1: resolving');
    expect(lines[1]).to.match(/^layer +aaaaaaaaaaaa waiting/);
    expect(lines[2]).to.match(/^layer +aaaaaaaaaaaa downloading 0 B\/2.0 KiB$/);
    expect(lines[3]).to.match(/^layer +aaaaaaaaaaaa done +2.0 KiB\/2.0 KiB  1.0 KiB\/s$/);
    expect(lines[4]).to.equal('pulled reg/app:1 (sha256:abc): 2.0 KiB downloaded in 2.0s');
    expect(lines).to.have.length(5);
  });

  it('redraws a block of lines in place on a terminal', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const r = new PullProgressRenderer(out, 'reg/app:1', true);
    r.update({ digest: `sha256:${'b'.repeat(64)}`, mediaType: 'application/vnd.oci.image.layer.v1.tar', offset: 5, total: 10, status: 'downloading' });
    r.stop();
    r.stop();
    expect(text).to.contain('\x1b[2A');
    expect(text).to.contain('|++++++++++          |');
  });
});

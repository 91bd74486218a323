import { expect } from 'chai';
import { InterruptPolicy } from '../../src/cli/terminal.js';

describe('cli/terminal InterruptPolicy (double Ctrl-C)', () => {
  it('forwards the first Ctrl-C and kills on a second within the window', () => {
    const p = new InterruptPolicy(3000);
    expect(p.next(10_000)).to.equal('forward');
    expect(p.next(12_000)).to.equal('kill');
  });

  it('forwards again when the second comes after the window', () => {
    const p = new InterruptPolicy(3000);
    expect(p.next(10_000)).to.equal('forward');
    expect(p.next(13_001)).to.equal('forward');
    expect(p.next(13_500)).to.equal('kill');
  });
});

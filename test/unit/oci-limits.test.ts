import { expect } from 'chai';
import { isRuntimeError } from '../../src/errors.js';
import { MIN_MEMORY_BYTES, parseCpus, parseMemory, parsePids, validateLimits } from '../../src/oci/limits.js';

/** Runs fn and returns the InvalidArgument it throws (fails the test otherwise). */
function invalid(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(isRuntimeError(err, 'InvalidArgument'), `expected InvalidArgument, got ${String(err)}`).to.equal(true);
    return err as Error;
  }
  expect.fail('expected an InvalidArgument error');
}

const MiB = 1024 ** 2;

describe('oci/limits', () => {
  describe('parseMemory', () => {
    it('reads every unit, in either case', () => {
      expect(parseMemory('8388608')).to.equal(8 * MiB);
      expect(parseMemory('8388608b')).to.equal(8 * MiB);
      expect(parseMemory('8192k')).to.equal(8 * MiB);
      expect(parseMemory('8192K')).to.equal(8 * MiB);
      expect(parseMemory('64m')).to.equal(64 * MiB);
      expect(parseMemory('64M')).to.equal(64 * MiB);
      expect(parseMemory('64MiB')).to.equal(64 * MiB);
      expect(parseMemory('1g')).to.equal(1024 * MiB);
      expect(parseMemory('1G')).to.equal(1024 * MiB);
      expect(parseMemory('1t')).to.equal(1024 ** 4);
      expect(parseMemory('2TB')).to.equal(2 * 1024 ** 4);
    });

    it('accepts decimals and rounds down to whole bytes', () => {
      expect(parseMemory('1.5g')).to.equal(1.5 * 1024 * MiB);
      expect(parseMemory('6.5M')).to.equal(6.5 * MiB);
      expect(parseMemory('10.0000001m')).to.equal(Math.floor(10.0000001 * MiB));
    });

    it('rejects an unknown unit with a message naming the input', () => {
      const err = invalid(() => parseMemory('12XB'));
      expect(err.message).to.contain('12XB');
    });

    it('rejects garbage, negative and empty sizes', () => {
      for (const bad of ['', 'abc', '-1', '-64M', 'M', '1.g', '64 M B', '0x40M']) {
        expect(invalid(() => parseMemory(bad)).message, bad).to.contain(`"${bad}"`);
      }
    });

    it('rejects zero', () => {
      invalid(() => parseMemory('0'));
      invalid(() => parseMemory('0M'));
    });

    it('rejects sizes below MIN_MEMORY_BYTES and accepts exactly the minimum', () => {
      expect(MIN_MEMORY_BYTES).to.equal(6 * MiB);
      const err = invalid(() => parseMemory('1m'));
      expect(err.message).to.contain('1m').and.to.contain('minimum');
      invalid(() => parseMemory(String(MIN_MEMORY_BYTES - 1)));
      expect(parseMemory(String(MIN_MEMORY_BYTES))).to.equal(MIN_MEMORY_BYTES);
    });
  });

  describe('parseCpus', () => {
    it('turns a CPU count into a quota over a 100ms period', () => {
      expect(parseCpus('0.5')).to.deep.equal({ cpuQuotaUs: 50_000, cpuPeriodUs: 100_000 });
      expect(parseCpus('2')).to.deep.equal({ cpuQuotaUs: 200_000, cpuPeriodUs: 100_000 });
      expect(parseCpus('1.25')).to.deep.equal({ cpuQuotaUs: 125_000, cpuPeriodUs: 100_000 });
      expect(parseCpus('0.01')).to.deep.equal({ cpuQuotaUs: 1000, cpuPeriodUs: 100_000 });
    });

    it('rejects negative, non-numeric, zero and below-1ms values, naming the input', () => {
      for (const bad of ['-1', 'abc', '', '1e3', '0', '0.0', '0.001', '0.005']) {
        expect(invalid(() => parseCpus(bad)).message, bad).to.contain(`"${bad}"`);
      }
    });
  });

  describe('parsePids', () => {
    it('accepts positive integers', () => {
      expect(parsePids('1')).to.equal(1);
      expect(parsePids('100')).to.equal(100);
      expect(parsePids(' 42 ')).to.equal(42);
    });

    it('rejects zero, negatives, decimals and words', () => {
      for (const bad of ['0', '-1', '1.5', 'many', '', String(2 ** 60)]) {
        expect(invalid(() => parsePids(bad)).message, bad).to.contain(`"${bad}"`);
      }
    });
  });

  describe('validateLimits', () => {
    it('passes valid limits through unchanged (and empty limits)', () => {
      const l = { memoryBytes: 64 * MiB, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 10 };
      expect(validateLimits(l)).to.deep.equal(l);
      expect(validateLimits({})).to.deep.equal({});
    });

    it('rejects each field out of range', () => {
      invalid(() => validateLimits({ memoryBytes: MIN_MEMORY_BYTES - 1 }));
      invalid(() => validateLimits({ memoryBytes: 64.5 * MiB + 0.5 }));
      invalid(() => validateLimits({ cpuQuotaUs: 999 }));
      invalid(() => validateLimits({ cpuQuotaUs: 1000, cpuPeriodUs: 999 }));
      invalid(() => validateLimits({ cpuQuotaUs: 1000, cpuPeriodUs: 1_000_001 }));
      invalid(() => validateLimits({ pids: 0 }));
      invalid(() => validateLimits({ pids: 1.5 }));
      expect(validateLimits({ cpuQuotaUs: 1000, cpuPeriodUs: 1_000_000 }).cpuPeriodUs).to.equal(1_000_000);
    });
  });
});

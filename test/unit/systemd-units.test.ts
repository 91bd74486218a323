import { expect } from 'chai';
import { isRuntimeError } from '../../src/errors.js';
import { isValidMachineName } from '../../src/systemd/machined.js';
import { toDBusProperties, unitProperty } from '../../src/systemd/properties.js';
import {
  UINT64_MAX,
  busLabelEscape,
  cgroupsPath,
  cpuQuotaPerSecUSec,
  cpusetToBits,
  scopeUnitName,
  unitObjectPath,
} from '../../src/systemd/units.js';

describe('systemd/units', () => {
  describe('scopeUnitName / cgroupsPath', () => {
    it('names the scope runc creates', () => {
      expect(scopeUnitName('abc')).to.equal('containerd-abc.scope');
      expect(scopeUnitName('abc', 'runc')).to.equal('runc-abc.scope');
    });
    it('builds runc systemd cgroupsPath', () => {
      expect(cgroupsPath('system.slice', 'abc')).to.equal('system.slice:containerd:abc');
    });
  });

  describe('cpuQuotaPerSecUSec (runc 1.1.5 addCpuQuota)', () => {
    const cases: Array<[number, number, bigint | null]> = [
      [50_000, 100_000, 500_000n], // exact: 0.5 CPU
      [12_345, 100_000, 130_000n], // 123450 → rounded up to 10ms
      [100_000, 100_000, 1_000_000n],
      [200_000, 100_000, 2_000_000n],
      [1, 100_000, 10_000n], // 10µs/s → minimum 1%
      [10_000, 100_000, 100_000n],
      [10_001, 100_000, 110_000n], // 100010 → 110000
      [25_000, 50_000, 500_000n], // period is honoured
      [1, 3, 340_000n], // floor(1e6/3)=333333 → 340000
      [1, 100_000_001, 0n], // floor first: 0 stays 0 (Go integer division)
      [50_000, 0, 500_000n], // period 0 → default 100000
      [-1, 100_000, UINT64_MAX], // no quota, period set → infinity
      [-1, 0, UINT64_MAX],
      [0, 100_000, UINT64_MAX],
      [0, 0, null], // runc sets nothing
    ];
    for (const [quota, period, want] of cases) {
      it(`quota=${quota} period=${period} → ${want}`, () => {
        expect(cpuQuotaPerSecUSec(quota, period)).to.equal(want);
      });
    }
    it('accepts bigints and rejects non-integers / negative periods', () => {
      expect(cpuQuotaPerSecUSec(50_000n, 100_000n)).to.equal(500_000n);
      expect(() => cpuQuotaPerSecUSec(1.5, 100_000)).to.throw().that.satisfies((e: unknown) => isRuntimeError(e, 'InvalidArgument'));
      expect(() => cpuQuotaPerSecUSec(1, -5)).to.throw().that.satisfies((e: unknown) => isRuntimeError(e, 'InvalidArgument'));
    });
  });

  describe('unitObjectPath (bus_label_escape)', () => {
    it('escapes every non-alphanumeric byte', () => {
      expect(unitObjectPath('containerd-a.scope')).to.equal('/org/freedesktop/systemd1/unit/containerd_2da_2escope');
      expect(unitObjectPath('system.slice')).to.equal('/org/freedesktop/systemd1/unit/system_2eslice');
      expect(unitObjectPath('dbus.service')).to.equal('/org/freedesktop/systemd1/unit/dbus_2eservice');
      expect(unitObjectPath('containerd-my_ctr.scope')).to.equal('/org/freedesktop/systemd1/unit/containerd_2dmy_5fctr_2escope');
    });
    it('escapes a leading digit only', () => {
      expect(busLabelEscape('1a1')).to.equal('_31a1');
      expect(busLabelEscape('')).to.equal('_');
    });
    it('escapes UTF-8 bytes', () => {
      expect(busLabelEscape('é')).to.equal('_c3_a9');
    });
  });

  describe('cpusetToBits (systemd AllowedCPUs byte order)', () => {
    const cases: Array<[string, number[]]> = [
      ['0', [0x01]],
      ['0-7', [0xff]],
      ['4-7', [0xf0]],
      ['0-15', [0xff, 0xff]],
      ['16', [0, 0, 1]],
      ['0-3,32-33', [0x0f, 0, 0, 0, 3]],
      ['1, 2, 1-2', [6]],
      ['    , 1   , 3  ,  5-7,\t', [0xea]],
    ];
    for (const [list, bytes] of cases) {
      it(`${JSON.stringify(list)}`, () => expect([...cpusetToBits(list)]).to.deep.equal(bytes));
    }
    it('rejects bad ranges', () => {
      for (const bad of ['-', '1-', '3-1', 'a', '', ',']) expect(() => cpusetToBits(bad), bad).to.throw();
    });
  });

  describe('unitProperty', () => {
    it('maps null limits to infinity and keeps D-Bus types', () => {
      expect(unitProperty.memoryMax(null)).to.deep.equal({ name: 'MemoryMax', type: 't', value: UINT64_MAX });
      expect(unitProperty.tasksMax(20)).to.deep.equal({ name: 'TasksMax', type: 't', value: 20n });
      const [[name, v]] = toDBusProperties([unitProperty.allowedCpus('0-1')]) as [[string, { signature: string; value: unknown }]];
      expect(name).to.equal('AllowedCPUs');
      expect(v.signature).to.equal('ay');
      expect([...(v.value as Buffer)]).to.deep.equal([3]);
    });
    it('rejects out of range values', () => {
      expect(() => unitProperty.memoryMax(-1)).to.throw();
      expect(() => unitProperty.memoryMax(1.5)).to.throw();
      expect(() => unitProperty.pids([0])).to.throw();
    });
  });

  describe('isValidMachineName (systemd 252 hostname_is_valid)', () => {
    const valid = ['a', 'abc', 'ABC-def', 'a1', '1a', '123', 'a--b', 'a.b', 'a.b.c', 'x'.repeat(64), 'redis-1.example'];
    const invalid = [
      '',
      '.host',
      '.a',
      'a.',
      'a..b',
      '-a',
      'a-',
      'a-.b',
      'a.-b',
      'a_b',
      'a b',
      'a/b',
      'é',
      'x'.repeat(65),
    ];
    for (const n of valid) it(`accepts ${JSON.stringify(n.length > 20 ? `${n.length} chars` : n)}`, () => expect(isValidMachineName(n)).to.equal(true));
    for (const n of invalid) it(`refuses ${JSON.stringify(n.length > 20 ? `${n.length} chars` : n)}`, () => expect(isValidMachineName(n)).to.equal(false));
  });
});

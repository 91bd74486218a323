import { expect } from 'chai';
import { defaultSeccompProfile, parseSeccompOption, type SeccompProfile } from '../../src/oci/seccomp.js';
import { DEFAULT_CAPABILITIES, generateSpec, withCapabilities, withPrivileged, withSeccomp } from '../../src/oci/spec.js';
import { isRuntimeError } from '../../src/errors.js';

/** Whether `name` is allowed unconditionally (a rule without args) by `p`. */
const allows = (p: SeccompProfile | undefined, name: string) =>
  (p?.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length && r.names.includes(name));
const rulesFor = (p: SeccompProfile | undefined, name: string) => (p?.syscalls ?? []).filter((r) => r.names.includes(name));

describe('seccomp', () => {
  describe('defaultSeccompProfile', () => {
    const p = defaultSeccompProfile(DEFAULT_CAPABILITIES, 'x64');

    it('denies with EPERM whatever it does not list', () => {
      expect(p.defaultAction).to.equal('SCMP_ACT_ERRNO');
      expect(p.defaultErrnoRet).to.equal(1);
    });

    it('allows what ordinary programs need and not what containers must not do', () => {
      for (const name of ['read', 'write', 'openat', 'execve', 'mmap', 'futex', 'exit_group', 'socket', 'wait4', 'rt_sigreturn', 'chroot']) {
        expect(allows(p, name), name).to.equal(true);
      }
      for (const name of ['mount', 'umount2', 'unshare', 'setns', 'reboot', 'swapon', 'swapoff', 'keyctl', 'add_key', 'init_module', 'kexec_load', 'bpf', 'ptrace', 'open_by_handle_at']) {
        expect(rulesFor(p, name), name).to.deep.equal([]);
      }
    });

    it('maps the machine to libseccomp architectures with their own syscalls (x86_64, aarch64)', () => {
      expect(p.architectures).to.deep.equal(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
      expect(allows(p, 'arch_prctl')).to.equal(true);
      const arm = defaultSeccompProfile(DEFAULT_CAPABILITIES, 'arm64');
      expect(arm.architectures).to.deep.equal(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
      expect(allows(arm, 'arch_prctl')).to.equal(false);
      expect(allows(arm, 'set_tls')).to.equal(true);
      expect(defaultSeccompProfile(DEFAULT_CAPABILITIES, 'riscv64').architectures).to.equal(undefined);
    });

    it('allows clone only without namespace flags, and turns clone3 into ENOSYS, when CAP_SYS_ADMIN is missing', () => {
      const clone = rulesFor(p, 'clone');
      expect(clone).to.have.length(1);
      expect(clone[0]!.args).to.deep.equal([{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
      expect(rulesFor(p, 'clone3')).to.deep.equal([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    });

    it('allows only harmless personality(2) values', () => {
      const values = rulesFor(p, 'personality').map((r) => r.args?.[0]?.value);
      expect(values).to.have.members([0, 8, 0x20000, 0x20008, 0xffffffff]);
    });

    it('unlocks syscalls with the capabilities that make them meaningful', () => {
      const admin = defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_TIME'], 'x64');
      for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'ptrace', 'clock_settime']) expect(allows(admin, name), name).to.equal(true);
      expect(rulesFor(admin, 'clone3').every((r) => r.action === 'SCMP_ACT_ALLOW')).to.equal(true);
      const noChroot = defaultSeccompProfile(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_SYS_CHROOT'), 'x64');
      expect(allows(noChroot, 'chroot')).to.equal(false);
    });

    it('lists every name once per rule and only lower-case syscall names', () => {
      for (const r of p.syscalls!) {
        expect(new Set(r.names).size, r.names.join(',')).to.equal(r.names.length);
        for (const n of r.names) expect(n).to.match(/^[a-z0-9_]+$/);
      }
    });
  });

  describe('in generated specs', () => {
    it('follows the final capabilities: --cap-add SYS_ADMIN allows mount', () => {
      expect(allows(generateSpec().linux.seccomp, 'mount')).to.equal(false);
      expect(allows(generateSpec(withCapabilities(['SYS_ADMIN'], [])).linux.seccomp, 'mount')).to.equal(true);
      expect(allows(generateSpec(withCapabilities([], ['SYS_CHROOT'])).linux.seccomp, 'chroot')).to.equal(false);
    });

    it('--privileged is unconfined, unless a profile is asked for after it', () => {
      expect(generateSpec(withPrivileged()).linux.seccomp).to.equal(undefined);
      const again = generateSpec(withPrivileged(), withSeccomp({ kind: 'default' })).linux.seccomp;
      expect(allows(again, 'mount')).to.equal(true); // the default for a privileged container's capabilities
      expect(allows(again, 'kexec_load')).to.equal(false);
    });

    it('--seccomp-profile unconfined removes it, a file replaces it as given', () => {
      expect(generateSpec(withSeccomp({ kind: 'unconfined' })).linux.seccomp).to.equal(undefined);
      const profile: SeccompProfile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
      expect(generateSpec(withSeccomp({ kind: 'profile', profile, source: '/p.json' })).linux.seccomp).to.deep.equal(profile);
    });
  });

  describe('parseSeccompOption', () => {
    const fails = (value: string, files: Record<string, string>, pattern: RegExp) => {
      try {
        parseSeccompOption(value, (p) => {
          if (!(p in files)) throw new Error('ENOENT: no such file');
          return files[p]!;
        });
        expect.fail('should throw');
      } catch (err) {
        expect(isRuntimeError(err, 'InvalidArgument'), String(err)).to.equal(true);
        expect((err as Error).message).to.match(pattern);
      }
    };

    it('knows unconfined and default, and reads an OCI profile file', () => {
      expect(parseSeccompOption('unconfined')).to.deep.equal({ kind: 'unconfined' });
      expect(parseSeccompOption('default')).to.deep.equal({ kind: 'default' });
      const text = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0, op: 'SCMP_CMP_EQ' }] }] });
      const c = parseSeccompOption('/etc/p.json', () => text);
      expect(c.kind).to.equal('profile');
    });

    it('refuses what runc would fail on later, saying why', () => {
      fails('strict', {}, /give "unconfined", "default" or the path/);
      fails('/missing.json', {}, /cannot read \/missing.json/);
      fails('/p.json', { '/p.json': '{' }, /not JSON/);
      fails('/p.json', { '/p.json': '[]' }, /must be a JSON object/);
      fails('/p.json', { '/p.json': '{"defaultAction":"DENY"}' }, /defaultAction must be one of/);
      fails('/p.json', { '/p.json': '{"defaultAction":"SCMP_ACT_ERRNO","archMap":[]}' }, /docker-format/);
      fails('/p.json', { '/p.json': '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]}' }, /names must be a non-empty list/);
      fails('/p.json', { '/p.json': '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"ALLOW"}]}' }, /action must be one of/);
      fails('/p.json', { '/p.json': '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":9,"value":0,"op":"SCMP_CMP_EQ"}]}]}' }, /index 0-5/);
    });
  });
});

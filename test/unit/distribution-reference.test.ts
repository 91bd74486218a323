import { expect } from 'chai';
import { RuntimeError } from '../../src/errors.js';
import { apiHost, formatReference, isLoopback, parseReference, referenceObject } from '../../src/oci/distribution/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('distribution/reference', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app:v1', 'docker.io/user/app:v1'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x'],
    ['registry-1.docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['quay.io/org/app', 'quay.io/org/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:t', 'localhost:5000/app:t'],
    ['127.0.0.1:5000/library/busybox:latest', '127.0.0.1:5000/library/busybox:latest'],
    ['ghcr.io/a/b/c/d:tag_1.2-x', 'ghcr.io/a/b/c/d:tag_1.2-x'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    [`[::1]:5000/app`, `[::1]:5000/app:latest`],
    ['my_repo/a__b/c-d/e.f', 'docker.io/my_repo/a__b/c-d/e.f:latest'],
  ];
  for (const [input, canonical] of cases) {
    it(`normalises ${input}`, () => {
      expect(formatReference(parseReference(input))).to.equal(canonical);
    });
  }

  it('splits domain, path, tag and digest', () => {
    const r = parseReference(`127.0.0.1:5000/library/busybox:v1@${D}`);
    expect(r).to.deep.equal({ domain: '127.0.0.1:5000', path: 'library/busybox', tag: 'v1', digest: D });
    expect(referenceObject(r)).to.equal(D);
    expect(referenceObject(parseReference('busybox'))).to.equal('latest');
  });

  it('maps docker.io to its API host', () => {
    expect(apiHost('docker.io')).to.equal('registry-1.docker.io');
    expect(apiHost('quay.io')).to.equal('quay.io');
  });

  for (const bad of ['', ' busybox', 'Busybox', 'busybox:', 'busybox:-x', 'busybox@sha256:abc', `busybox@md5:${'a'.repeat(32)}`, 'host:99999/x', 'docker.io/', 'a//b', 'a/-b', 'host.com/UPPER', `x:${'t'.repeat(129)}`]) {
    it(`rejects ${JSON.stringify(bad)} with InvalidArgument`, () => {
      let err: unknown;
      try {
        parseReference(bad);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(RuntimeError);
      expect((err as RuntimeError).kind).to.equal('InvalidArgument');
    });
  }

  it('knows loopback hosts', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1:1234', '127.9.9.9', '[::1]:5000']) expect(isLoopback(h), h).to.equal(true);
    for (const h of ['example.com', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com']) expect(isLoopback(h), h).to.equal(false);
  });
});

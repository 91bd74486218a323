import { expect } from 'chai';
import { isRuntimeError } from '../../src/errors.js';
import { MAX_IDENTIFIER_LENGTH, validateIdentifier } from '../../src/oci/identifiers.js';

function rejected(id: string, what?: string): Error {
  try {
    validateIdentifier(id, what);
  } catch (err) {
    expect(isRuntimeError(err, 'InvalidArgument'), String(err)).to.equal(true);
    return err as Error;
  }
  expect.fail(`"${id}" was accepted`);
}

describe('oci/identifiers validateIdentifier', () => {
  it('accepts and returns ordinary ids', () => {
    for (const id of ['a', 'Z', '0', 'c1', 'my-container', 'web_1.prod', 'a.b_c-d', 'ABC123']) {
      expect(validateIdentifier(id)).to.equal(id);
    }
  });

  it('allows 76 characters and rejects 77', () => {
    expect(MAX_IDENTIFIER_LENGTH).to.equal(76);
    const max = 'a'.repeat(76);
    expect(validateIdentifier(max)).to.equal(max);
    expect(rejected('a'.repeat(77)).message).to.contain('77').and.to.contain('76');
  });

  it('rejects path-like, empty and spaced ids', () => {
    expect(rejected('').message).to.contain('empty');
    for (const id of ['../x', '..', '.', 'a/b', '/a', 'a b', ' a', 'a\n', 'a:b', 'ä']) rejected(id);
  });

  it("rejects a leading or trailing '-', '_' or '.'", () => {
    for (const id of ['-a', 'a-', '_a', 'a_', '.a', 'a.', '-']) rejected(id);
  });

  it('names what was being validated in the message', () => {
    expect(rejected('a b', 'container id').message).to.match(/^container id "a b" is invalid/);
  });
});

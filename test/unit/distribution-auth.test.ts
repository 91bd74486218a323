import { expect } from 'chai';
import { RuntimeError } from '../../src/errors.js';
import { Authorizer, parseTokenResponse, type TokenHttp } from '../../src/oci/distribution/auth.js';
import { findChallenge, parseChallenges } from '../../src/oci/distribution/challenge.js';
import { credentialsFromConfig, staticCredentials } from '../../src/oci/distribution/credentials.js';
import { rejection } from '../support/rejection.js';

describe('distribution/challenge', () => {
  it('parses a bearer challenge', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    expect(c).to.deep.equal({ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } });
  });

  it('parses basic, unquoted values, escapes and several challenges', () => {
    const cs = parseChallenges(['Basic realm="Registry \\"Realm\\"", charset=UTF-8', 'Bearer realm=https://x/t , error="insufficient_scope"']);
    expect(cs).to.have.length(2);
    expect(cs[0]).to.deep.equal({ scheme: 'basic', params: { realm: 'Registry "Realm"', charset: 'UTF-8' } });
    expect(findChallenge(cs, 'bearer')?.params).to.deep.equal({ realm: 'https://x/t', error: 'insufficient_scope' });
  });

  it('parses two challenges in one header', () => {
    const cs = parseChallenges('Basic realm="a", Bearer realm="b",service="s"');
    expect(cs.map((c) => c.scheme)).to.deep.equal(['basic', 'bearer']);
    expect(cs[1]?.params.service).to.equal('s');
  });

  it('never throws on garbage', () => {
    for (const g of ['', '=', '"', 'Bearer realm="unterminated', ',,,', '===x']) expect(() => parseChallenges(g)).not.to.throw();
    expect(parseChallenges(undefined)).to.deep.equal([]);
  });
});

describe('distribution/credentials', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const file = JSON.stringify({
    auths: {
      '127.0.0.1:5000': { auth: b64('alice:pa:ss') },
      'https://index.docker.io/v1/': { username: 'bob', password: 'pw' },
      'tok.example': { identitytoken: 'refresh' },
    },
  });

  it('reads docker config.json entries (auth, username/password, identity token)', () => {
    expect(credentialsFromConfig(file, '127.0.0.1:5000')).to.deep.equal({ username: 'alice', secret: 'pa:ss' });
    expect(credentialsFromConfig(file, 'docker.io')).to.deep.equal({ username: 'bob', secret: 'pw' });
    expect(credentialsFromConfig(file, 'registry-1.docker.io')).to.deep.equal({ username: 'bob', secret: 'pw' });
    expect(credentialsFromConfig(file, 'tok.example')).to.deep.equal({ username: '', secret: '', identityToken: 'refresh' });
    expect(credentialsFromConfig(file, 'other:1')).to.equal(undefined);
  });

  it('rejects malformed files with InvalidArgument', () => {
    for (const bad of ['nope', '{}', '{"auths": []}', JSON.stringify({ auths: { h: { auth: b64('nocolon') } } }), JSON.stringify({ auths: { h: {} } })]) {
      let err: unknown;
      try {
        credentialsFromConfig(bad, 'h');
      } catch (e) {
        err = e;
      }
      expect((err as RuntimeError).kind, bad).to.equal('InvalidArgument');
    }
  });
});

describe('distribution/auth', () => {
  function fakeHttp(status = 200, body = '{"token":"t1","expires_in":300}') {
    const calls: Array<{ url: string; headers: Record<string, string> }> = [];
    const http: TokenHttp = {
      tokenRequest: async (url, init) => {
        calls.push({ url: url.toString(), headers: init.headers });
        return { status, text: body };
      },
    };
    return { http, calls };
  }

  it('is anonymous until challenged, then fetches and caches a bearer token per scope', async () => {
    const { http, calls } = fakeHttp();
    const a = new Authorizer(http, staticCredentials({}));
    expect(await a.authorization('r:1', 'repository:x:pull')).to.equal(undefined);
    await a.unauthorized('r:1', 'repository:x:pull', 'Bearer realm="https://auth/token",service="svc"', undefined);
    expect(calls).to.have.length(1);
    expect(calls[0]!.url).to.equal('https://auth/token?service=svc&scope=repository%3Ax%3Apull');
    expect(calls[0]!.headers.authorization).to.equal(undefined);
    expect(await a.authorization('r:1', 'repository:x:pull')).to.equal('Bearer t1');
    expect(calls).to.have.length(1);
    await a.authorization('r:1', 'repository:y:pull');
    expect(calls).to.have.length(2);
  });

  it('sends basic credentials to the token server', async () => {
    const { http, calls } = fakeHttp();
    const a = new Authorizer(http, staticCredentials({ 'r:1': { username: 'u', secret: 'p' } }));
    await a.unauthorized('r:1', 's', 'Bearer realm="https://auth/token"', undefined);
    expect(calls[0]!.headers.authorization).to.equal(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('answers a basic challenge with credentials, and fails clearly without', async () => {
    const hint = (h: string) => `use --user for ${h}`;
    const withCreds = new Authorizer(fakeHttp().http, staticCredentials({ h: { username: 'u', secret: 'p' } }), hint);
    await withCreds.unauthorized('h', undefined, 'Basic realm="x"', undefined);
    expect(await withCreds.authorization('h', undefined)).to.equal(`Basic ${Buffer.from('u:p').toString('base64')}`);
    const refused = await rejection(withCreds.unauthorized('h', undefined, 'Basic realm="x"', 'Basic abc'));
    expect(refused.kind).to.equal('FailedPrecondition');
    expect(refused.message).to.include('registry h refused the credentials of user "u"').and.include('use --user for h');

    const none = new Authorizer(fakeHttp().http, staticCredentials({}), hint);
    const err = await rejection(none.unauthorized('h', 'repository:x:pull', 'Basic realm="x"', undefined));
    expect(err.kind).to.equal('FailedPrecondition');
    expect(err.message).to.include('registry h requires authentication').and.include('no credentials were given').and.include('use --user for h');
    expect(err.fields.status).to.equal(401);
  });

  it('maps a token server 401 to refused credentials', async () => {
    const a = new Authorizer(fakeHttp(401, '').http, staticCredentials({ h: { username: 'u', secret: 'bad' } }));
    const err = await rejection(a.unauthorized('h', 's', 'Bearer realm="https://auth/token"', undefined));
    expect(err.kind).to.equal('FailedPrecondition');
    expect(err.message).to.include('refused the credentials of user "u"');
  });

  it('parses token responses', () => {
    expect(parseTokenResponse('{"token":"a","expires_in":10}', 'h', 1000)).to.deep.equal({ token: 'a', expiresAt: 11_000 });
    expect(parseTokenResponse('{"access_token":"b"}', 'h', 0)).to.deep.equal({ token: 'b', expiresAt: 60_000 });
    expect(() => parseTokenResponse('<html>', 'h', 0)).to.throw(/did not answer JSON/);
    expect(() => parseTokenResponse('{}', 'h', 0)).to.throw(/without a token/);
  });
});

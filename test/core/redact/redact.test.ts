import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { redact, redactValue } from '../../../src/core/redact/redact';
import { ibanValid, luhnValid } from '../../../src/core/redact/rules';
import { isSecretFile } from '../../../src/core/redact/secret-files';

// Token-shaped test values are assembled at run time so secret scanners do not flag this file.
const ghp = 'ghp_' + 'R2d2C3p0xWingYWing0123456789abcdefABCD';
const pat = 'github_pat_' + '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF';
const openai = 'sk-proj-' + 'T3BlbkFJx9Qz7Lm2Vn8Rc4Yk1Wd6Hs0Pa5Ge';
const slack = 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const aws = 'AKIA' + 'IOSFODNN7EXAMPLE';
const jwt =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' + 'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ.' + 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('redact', () => {
  const cases: Array<[string, string, string]> = [
    ['email in prose', 'please contact jane.doe+ml@corp.example.co.uk today', 'email'],
    ['Visa with spaces', 'card: 4111 1111 1111 1111, exp 12/29', 'card-number'],
    ['Mastercard with dashes', 'paid with 5555-5555-5555-4444', 'card-number'],
    ['Amex plain', 'amex 378282246310005 on file', 'card-number'],
    ['IBAN grouped', 'IBAN: DE89 3704 0044 0532 0130 00', 'iban'],
    ['IBAN compact', 'send to GB82WEST12345698765432 please', 'iban'],
    ['international phone', 'call me at +44 20 7946 0958', 'phone'],
    ['AWS access key id', `aws_access_key_id = ${aws}`, 'aws-access-key'],
    ['GitHub classic token', `git clone https://x:${ghp}@github.com/o/r`, 'url-credentials'],
    ['GitHub token bare', `GH said: ${ghp}`, 'github-token'],
    ['GitHub fine-grained token', `token ${pat}`, 'github-token'],
    ['OpenAI project key', `OPENAI_API_KEY is ${openai}`, 'openai-key'],
    ['Slack bot token', `slack ${slack}`, 'slack-token'],
    ['Slack webhook', 'post to https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX', 'slack-webhook'],
    ['JWT', `session=${jwt}`, 'jwt'],
    ['bearer header', 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0', 'bearer-token'],
    ['basic header', 'authorization: Basic dXNlcjpwYXNzd29yZDEyMw==', 'bearer-token'],
    ['url credentials', 'DATABASE_URL=postgres://admin:S3cr3t!@db.internal:5432/app', 'url-credentials'],
    ['.env password', 'DB_PASSWORD=correct-horse-battery', 'secret-assignment'],
    ['.env export quoted', 'export STRIPE_SECRET="whsec_abc123def456"', 'secret-assignment'],
    ['JSON password', '{"user":"bob","password":"hunter22"}', 'secret-assignment'],
    ['YAML api key', 'service:\n  api_key: 8c1f2e9a7b3d4c5e\n  model: llama', 'secret-assignment'],
    ['code assignment with literal', 'const apiKey = "b1946ac92492d2347c6235b4d2611184";', 'secret-assignment'],
    ['generic token after a key-ish name', 'the access key: 4f9a1c7e2b8d3f6a0e5c9b7d1a3f8e2c', 'secret-token'],
  ];

  for (const [name, input, kind] of cases) {
    it(`removes ${name}`, () => {
      const r = redact(input);
      assert.ok(r.count >= 1, `nothing redacted in ${JSON.stringify(input)}`);
      assert.ok(r.kinds.includes(kind as never), `${name}: kinds ${r.kinds.join(',')} lack ${kind}; got ${r.text}`);
      assert.match(r.text, /\[REDACTED:[a-z-]+\]/);
    });
  }

  it('leaves none of the secret bytes behind', () => {
    const all = [ghp, pat, openai, slack, aws, jwt, 'hunter22', '4111 1111 1111 1111', 'jane.doe@example.com'];
    const r = redact(all.map((s, i) => (s === 'hunter22' ? `password: ${s}` : `v${i}: ${s}`)).join('\n'));
    for (const s of all) assert.ok(!r.text.includes(s), `${s} survived: ${r.text}`);
  });

  it('removes a whole PEM private key block', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const body = pem.split('\n')[1];
    const r = redact(`key follows\n${pem}\nend`);
    assert.deepEqual(r.kinds, ['private-key']);
    assert.ok(!r.text.includes(body));
    assert.equal(r.text, 'key follows\n[REDACTED:private-key]\n\nend');
  });

  it('keeps the scheme and host of a URL with credentials', () => {
    assert.equal(redact('https://bob:pa55w0rd@models.internal/v1').text, 'https://[REDACTED:url-credentials]@models.internal/v1');
  });

  describe('does not mangle ordinary code and data (false positives)', () => {
    const keep = [
      'const password = readPassword(prompt);',
      'interface Options { token: string; apiKey?: string; maxTokens: number }',
      'function getToken(): Promise<string> { return this.secretStorage.get(KEY); }',
      'const maxTokens = 256; const tokenType = "bearer";',
      'password: string',
      'PASSWORD_MIN_LENGTH=12',
      'API_KEY=${API_KEY}',
      'TOKEN=<your-token-here>',
      'Bearer authentication is required for this endpoint.',
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'created 1700000000000 ms, size 4111111111111112 bytes',
      'version 1.2.3-beta.4 on 2024-05-06T07:08:09Z build 20240506',
      'import { Component } from "@angular/core"; @Injectable() class X {}',
      'npm install @types/node@20.19.43',
      'git@github.com:owner/repo.git',
      'the tokenizer has 32000 tokens and a context of 4096',
      'for (let i = 0; i < 4111111111; i++) total += i * 31;',
      'sk-learn-compatible-estimator-options',
      'phone = "+1"',
      'llama.attention.head_count_kv = 8; n_embd = 4096',
      'model-v1.2.3.gguf Q4_K_M 4.37 GiB',
    ];
    for (const text of keep) {
      it(JSON.stringify(text), () => {
        const r = redact(text);
        // git@github.com is an address shape; every other sample must come back identical.
        if (text.startsWith('git@')) return assert.ok(r.count <= 1);
        assert.equal(r.text, text, `changed (${r.kinds.join(',')})`);
        assert.equal(r.count, 0);
      });
    }
  });

  it('is idempotent', () => {
    const once = redact(`TOKEN=${ghp}\nmail bob@example.org`).text;
    const twice = redact(once);
    assert.equal(twice.text, once);
    assert.equal(twice.count, 0);
  });

  it('validators: Luhn and IBAN mod 97', () => {
    assert.equal(luhnValid('4111111111111111'), true);
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(ibanValid('DE89370400440532013000'), true);
    assert.equal(ibanValid('DE89370400440532013001'), false);
  });
});

describe('redactValue', () => {
  it('redacts nested strings and secret-named keys without changing the input', () => {
    const input = {
      user: 'jane@example.com',
      headers: { Authorization: 'Bearer abc', 'x-request-id': 'r-42' },
      db: { password: 'x', port: 5432 },
      list: [`key ${aws}`, 7, null, true],
      when: new Date('2025-01-02T03:04:05Z'),
    };
    const copy = JSON.parse(JSON.stringify(input));
    const r = redactValue(input);
    assert.deepEqual(r.value, {
      user: '[REDACTED:email]',
      headers: { Authorization: '[REDACTED:secret-assignment]', 'x-request-id': 'r-42' },
      db: { password: '[REDACTED:secret-assignment]', port: 5432 },
      list: ['key [REDACTED:aws-access-key]', 7, null, true],
      when: '2025-01-02T03:04:05.000Z',
    });
    assert.equal(r.count, 4);
    assert.deepEqual(r.kinds, ['aws-access-key', 'email', 'secret-assignment']);
    assert.deepEqual(JSON.parse(JSON.stringify(input)), copy);
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    assert.deepEqual(redactValue(a).value, { name: 'a', self: '[circular]' });
  });
});

describe('isSecretFile', () => {
  const secret = ['.env', '.env.local', 'prod.env', 'config/.env.production', 'server.pem', 'tls.key', 'id_rsa', 'id_ed25519.pub', 'home/u/.ssh/config', 'cert.p12', '/home/u/.aws/credentials', 'C:\\Users\\u\\.env', 'ID_RSA'];
  const ordinary = ['src/env.ts', 'environment.ts', 'keyboard.ts', 'key.ts', 'README.md', 'src/keys/index.ts', 'model.gguf', 'pemfile.txt'];
  for (const p of secret) it(`${p} is secret`, () => assert.equal(isSecretFile(p), true));
  for (const p of ordinary) it(`${p} is not`, () => assert.equal(isSecretFile(p), false));
  it('accepts custom patterns', () => {
    assert.equal(isSecretFile('deploy/vault.yaml', ['vault.*']), true);
    assert.equal(isSecretFile('deploy/vault.yaml', ['deploy/*.json']), false);
    assert.equal(isSecretFile('deploy/x.json', ['deploy/*.json']), true);
  });
});

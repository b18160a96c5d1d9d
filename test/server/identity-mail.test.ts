// E-mail through nodemailer to a real SMTP listener: STARTTLS with a CA file and AUTH, refusals and a dead server as stable codes, e-mail off.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/secret.ts';
import { createMailer, SmtpMailer } from '../../src/server/identity/mailer.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';

describe('SMTP mailer', () => {
  let dir: string;
  let smtp: TestSmtp;
  let caFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-smtp-'));
    caFile = join(dir, 'smtp.crt');
    const keyFile = join(dir, 'smtp.key');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', caFile], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    smtp = await startTestSmtp({ tls: { cert: readFileSync(caFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }, auth: { user: 'tessera', password: 'smtp-Pw-55' } });
  });
  afterAll(async () => {
    await smtp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ({ host: '127.0.0.1', port: smtp.port, from: 'Tessera <tessera@tessera.test>', requireTls: true, caFile, user: 'tessera', password: Secret.fromText('smtp-Pw-55') });

  it('delivers over STARTTLS with the configured CA and credentials', async () => {
    const mailer = new SmtpMailer(base());
    await mailer.send({ to: 'holder@tessera.test', subject: 'Hello', text: 'Body text' });
    mailer.close();
    const [mail] = await smtp.waitFor(1);
    expect(mail).toMatchObject({ from: 'tessera@tessera.test', to: ['holder@tessera.test'] });
    expect(mail!.raw).toContain('Body text');
  });

  it('refuses with ERR_EMAIL_DELIVERY: untrusted certificate, wrong password, server down', async () => {
    const { caFile: _ca, ...noCa } = base();
    for (const config of [noCa, { ...base(), password: Secret.fromText('wrong') }, { ...base(), port: 1, connectTimeoutMs: 500 }]) {
      const mailer = new SmtpMailer(config);
      await expect(mailer.send({ to: 'holder@tessera.test', subject: 'x', text: 'x' })).rejects.toMatchObject({ code: 'ERR_EMAIL_DELIVERY' });
      mailer.close();
    }
  });

  it('is off without configuration and says so', async () => {
    const mailer = createMailer(undefined);
    expect(mailer.enabled).toBe(false);
    await expect(mailer.send({ to: 'a@b', subject: 'x', text: 'x' })).rejects.toMatchObject({ code: 'ERR_EMAIL_OFF', statusCode: 409 });
  });
});

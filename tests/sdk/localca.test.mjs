// The official Azure SDK (@azure/keyvault-certificates) against a running
// certvault: asynchronous issuance by certvault-worker (issue 5).
//
// createIssuer with provider LocalCA, beginCreateCertificate naming it,
// pollUntilDone → the certificate, whose chain verifies (certtool) against
// the CA `certvault-admin issuer ca-certificate` prints; an issuer that
// requires an operator's approval (organizationId "approval-required")
// keeps the poller waiting until certvault-admin approves; a partner
// provider without a connector makes pollUntilDone fail with Key Vault's
// issuer error. Run by tests/integration/t_sdk_certificates.sh with the
// other *.test.mjs files (it stops nothing: the stack's certvault-worker
// does the work); the shared set-up is in common.mjs.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { CertificateClient } from "@azure/keyvault-certificates";

import { certtool, credential, env, pemArmour, prefix, vaultUrl } from "./common.mjs";

const client = new CertificateClient(vaultUrl, credential);
// The worker takes a due operation at its next pass (worker_interval).
const polling = { intervalInMs: 250 };

// certvault-admin of the stack (the env file names its config and build).
function admin(...args) {
  for (const v of ["CERTVAULT_BUILD_DIR", "CERTVAULT_CONFIG", "CERTVAULT_VAULT_NAME"]) {
    if (!env[v]) throw new Error(`${v} is not set: run me through tests/integration/t_sdk_certificates.sh`);
  }
  return execFileSync(`${env.CERTVAULT_BUILD_DIR}/src/certvault-admin`,
    ["--config", env.CERTVAULT_CONFIG, ...args], { stdio: ["ignore", "pipe", "pipe"] }).toString();
}

describe("LocalCA issuance", () => {
  const issuers = [];
  let work;

  before(() => {
    work = mkdtempSync(join(tmpdir(), "certvault-localca-"));
  });

  after(async () => {
    for (const n of issuers) {
      try {
        await client.deleteIssuer(n);
      } catch {
        // in use or gone: the wrapper removes what is left
      }
    }
    rmSync(work, { recursive: true, force: true });
  });

  async function issuer(tag, provider, options = {}) {
    const n = `${prefix}${tag}`;
    issuers.push(n);
    const created = await client.createIssuer(n, provider, options);
    assert.equal(created.provider, provider);
    return n;
  }

  // The certificate's chain verifies against the issuer's CA.
  function assertIssuedBy(cer, issuerName, tag) {
    const ca = join(work, `${tag}-ca.pem`);
    const leaf = join(work, `${tag}.pem`);
    writeFileSync(ca, admin("issuer", "ca-certificate", env.CERTVAULT_VAULT_NAME, issuerName));
    writeFileSync(leaf, pemArmour("CERTIFICATE", cer));
    const out = certtool(["--verify", "--load-ca-certificate", ca, "--infile", leaf]).toString();
    assert.match(out, /Verified/);
    const info = certtool(["-i", "--infile", leaf]).toString();
    assert.match(info, new RegExp(`Issuer: CN=certvault LocalCA ${env.CERTVAULT_VAULT_NAME}/${issuerName}`));
  }

  test("createIssuer LocalCA, beginCreateCertificate with it, pollUntilDone → the certificate", async () => {
    const iss = await issuer("localca", "LocalCA");
    const name = `${prefix}localca-cert`;
    const poller = await client.beginCreateCertificate(name, {
      issuerName: iss,
      subject: `CN=${name}.example`,
      subjectAlternativeNames: { dnsNames: [`${name}.example`] },
      validityInMonths: 3,
    }, polling);
    const cert = await poller.pollUntilDone();
    assert.equal(cert.name, name);
    assert.ok(cert.cer instanceof Uint8Array && cert.cer.length > 100, "cer is the DER certificate");
    assert.equal(cert.properties.enabled, true);
    assert.equal(cert.policy.issuerName, iss);
    const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op.status, "completed");
    assert.equal(op.issuerName, iss);
    assert.equal(op.target, `${vaultUrl}/certificates/${name}`);
    assertIssuedBy(cert.cer, iss, "localca");
    // About three months (91 days) from nbf to exp, as the policy says.
    const days = (cert.properties.expiresOn - cert.properties.notBefore) / 86400e3;
    assert.ok(days > 91 && days < 92, `validity ${days} days`);
  });

  test("an issuer that requires approval keeps the poller waiting until certvault-admin approves", async () => {
    const iss = await issuer("approval", "LocalCA", { organizationId: "approval-required" });
    const name = `${prefix}approval-cert`;
    const poller = await client.beginCreateCertificate(name, {
      issuerName: iss,
      subject: `CN=${name}.example`,
    }, polling);
    const done = poller.pollUntilDone();
    let details = "";
    for (let i = 0; i < 120 && !details.startsWith("Waiting for an operator's approval"); i++) {
      await sleep(250);
      const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
      assert.equal(op.status, "inProgress");
      details = op.statusDetails ?? "";
    }
    assert.match(details, /^Waiting for an operator's approval \(certvault-admin operation approve /);
    assert.equal(poller.isDone(), false);
    admin("operation", "approve", env.CERTVAULT_VAULT_NAME, name, "--by", "sdk-test");
    const cert = await done;
    assert.ok(cert.cer instanceof Uint8Array && cert.cer.length > 100);
    assertIssuedBy(cert.cer, iss, "approval");
  });

  test("a partner provider without a connector: pollUntilDone fails with the issuer error", async () => {
    const iss = await issuer("digicert", "DigiCert");
    const name = `${prefix}digicert-cert`;
    const poller = await client.beginCreateCertificate(name, {
      issuerName: iss,
      subject: `CN=${name}.example`,
    }, polling);
    await assert.rejects(poller.pollUntilDone(),
      /No connector is configured for the issuer provider DigiCert\./);
    // The SDK reports a failed operation as its error; t_issuance.sh checks
    // the operation's JSON (status failed, error.code "Certificate issuer
    // error").
    await assert.rejects(client.getCertificateOperation(name),
      /No connector is configured for the issuer provider DigiCert\./);
  });
});

// The official Azure SDK (@azure/keyvault-certificates) against a running
// certvault: an ACME issuer (issue 6) on pebble, the test ACME CA that
// ./test.sh starts.
//
// createIssuer with provider "ACME" and the CA's directory URL as
// organizationId — all an SDK can set — then beginCreateCertificate naming
// it and pollUntilDone: certvault-worker orders the certificate, pebble
// validates http-01 against certvault's own plain-HTTP listener, and the
// chain in the secret verifies (certtool) against pebble's root. Run by
// tests/integration/t_sdk_certificates.sh with the other *.test.mjs files.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";

import { certtool, credential, env, prefix, vaultUrl } from "./common.mjs";

const client = new CertificateClient(vaultUrl, credential);
const secrets = new SecretClient(vaultUrl, credential);
const polling = { intervalInMs: 250 };

describe("ACME issuance", { skip: !env.CERTVAULT_ACME_DIRECTORY && "pebble is not part of the stack" }, () => {
  const work = mkdtempSync(join(tmpdir(), "certvault-acme-"));
  const iss = `${prefix}acme`;

  after(async () => {
    try {
      await client.deleteIssuer(iss);
    } catch {
      // the wrapper removes what is left
    }
    rmSync(work, { recursive: true, force: true });
  });

  test("createIssuer ACME with the directory as organizationId, beginCreateCertificate, pollUntilDone", async () => {
    const created = await client.createIssuer(iss, "ACME", {
      organizationId: env.CERTVAULT_ACME_DIRECTORY,
      administratorContacts: [{ firstName: "Ops", lastName: "Team", email: `ops@${iss}.example` }],
    });
    assert.equal(created.provider, "ACME");
    assert.equal(created.organizationId, env.CERTVAULT_ACME_DIRECTORY);

    const name = `${prefix}acme-cert`;
    const poller = await client.beginCreateCertificate(name, {
      issuerName: iss,
      subject: `CN=${name}.example`,
      subjectAlternativeNames: { dnsNames: [`${name}.example`] },
      contentType: "application/x-pem-file",
    }, polling);
    const cert = await poller.pollUntilDone();
    assert.equal(cert.name, name);
    assert.ok(cert.cer instanceof Uint8Array && cert.cer.length > 100, "cer is the DER certificate");
    const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op.status, "completed");
    assert.equal(op.issuerName, iss);

    const root = join(work, "root.pem");
    const chain = join(work, "chain.pem");
    writeFileSync(root, execFileSync("curl", ["-sf", "--cacert", env.CERTVAULT_ACME_CA_FILE,
      `${env.CERTVAULT_PEBBLE_MGMT}/roots/0`]));
    const pem = (await secrets.getSecret(name)).value;
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
    assert.ok(certs.length >= 2, "the secret holds leaf and intermediate");
    writeFileSync(chain, certs.join("\n") + "\n");
    const out = certtool(["--verify", "--load-ca-certificate", root, "--infile", chain]).toString();
    assert.match(out, /Chain verification output: Verified/);
    assert.match(certtool(["-i", "--infile", chain]).toString(), new RegExp(`DNSname: ${name}\\.example`));
  });
});

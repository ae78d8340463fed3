// The official Azure SDK (@azure/keyvault-certificates) against a running
// certvault: certificate creation and its pending operation, end to end.
//
// Run by tests/integration/t_sdk_certificates.sh, which loads the stack's
// env file (CERTVAULT_TEST_ENV) into the environment and starts
//   NODE_EXTRA_CA_CERTS=$CERTVAULT_CA node --import ./resolve-localhost.mjs --test
// The preload makes *.localhost resolve to 127.0.0.1 in this process (see
// resolve-localhost.mjs); the SDK itself is used unmodified, with its
// challenge resource verification ON: the vault is addressed as
// https://demo.vault.localhost:PORT and the server's challenge names
// resource="https://vault.localhost".
//
// Every certificate name starts with CERTVAULT_SDK_PREFIX; the wrapper
// removes those certificates from the database afterwards. The shared
// set-up is in common.mjs.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";

import { CertificateClient } from "@azure/keyvault-certificates";

import {
  credential, expectRestError, env, fast, makeTestCa, pemBody, prefix, sha1, signCsr, vaultUrl,
} from "./common.mjs";

const client = new CertificateClient(vaultUrl, credential);

// A throwaway CA made with GnuTLS certtool.
let ca;

before(() => {
  ca = makeTestCa();
});

after(() => {
  if (ca) ca.dispose();
});

describe("bearer challenge", () => {
  test("resource verification passes for the *.vault.localhost host", async () => {
    // A fresh client: its first request is the bare one that gets the 401
    // challenge; the SDK checks resource="https://vault.localhost" against
    // demo.vault.localhost, fetches the token and retries.
    const fresh = new CertificateClient(vaultUrl, credential);
    const names = [];
    for await (const p of fresh.listPropertiesOfCertificates()) names.push(p.name);
    assert.ok(Array.isArray(names));
  });

  test("an IP address host fails the verification unless it is disabled", async () => {
    const ipUrl = `https://127.0.0.1:${env.CERTVAULT_HTTPS_PORT}`;
    const strict = new CertificateClient(ipUrl, credential);
    await assert.rejects(async () => {
      for await (const p of strict.listPropertiesOfCertificates()) void p;
    }, /challenge resource/i);
    const lax = new CertificateClient(ipUrl, credential, { disableChallengeResourceVerification: true });
    for await (const p of lax.listPropertiesOfCertificates()) void p;
  });
});

describe("issuer Self", () => {
  const name = `${prefix}self`;
  let created;

  test("beginCreateCertificate → pollUntilDone gives an enabled certificate with cer", async () => {
    const poller = await client.beginCreateCertificate(name, {
      issuerName: "Self",
      subject: "CN=sdk-self.example",
      subjectAlternativeNames: { dnsNames: ["sdk-self.example"] },
    }, fast);
    created = await poller.pollUntilDone();
    assert.equal(created.name, name);
    assert.ok(created.cer instanceof Uint8Array && created.cer.length > 100, "cer is DER bytes");
    assert.equal(created.cer[0], 0x30, "cer starts with a DER SEQUENCE");
    assert.equal(created.properties.enabled, true);
    assert.match(created.properties.version, /^[0-9a-f]{32}$/);
    assert.equal(created.properties.vaultUrl, vaultUrl);
    assert.deepEqual(Buffer.from(created.properties.x509Thumbprint), sha1(created.cer),
      "x5t is the SHA-1 of cer");
    assert.equal(created.policy.issuerName, "Self");
    assert.equal(created.policy.subject, "CN=sdk-self.example");
  });

  test("getCertificate returns the same version", async () => {
    const got = await client.getCertificate(name);
    assert.equal(got.properties.version, created.properties.version);
    assert.equal(got.id, created.id);
    assert.equal(got.keyId, `${vaultUrl}/keys/${name}/${created.properties.version}`);
    assert.equal(got.secretId, `${vaultUrl}/secrets/${name}/${created.properties.version}`);
    assert.deepEqual(Buffer.from(got.cer), Buffer.from(created.cer));
    assert.equal(got.properties.enabled, true);
    assert.deepEqual(got.policy.subjectAlternativeNames?.dnsNames, ["sdk-self.example"]);
    const byVersion = await client.getCertificateVersion(name, created.properties.version);
    assert.equal(byVersion.id, created.id);
  });

  test("getCertificateOperation says completed with the target", async () => {
    const poller = await client.getCertificateOperation(name, fast);
    const op = poller.getOperationState().certificateOperation;
    assert.equal(op.status, "completed");
    assert.equal(op.target, `${vaultUrl}/certificates/${name}`);
    assert.equal(op.issuerName, "Self");
    assert.match(op.requestId, /^[0-9a-f]{32}$/);
    assert.equal(op.cancellationRequested, false);
    assert.ok(poller.isDone());
  });

  test("getCertificate of an unknown name is a 404 RestError", async () => {
    await expectRestError(client.getCertificate(`${prefix}nothing-here`), 404);
  });
});

describe("issuer Unknown", () => {
  test("cancel and delete the pending operation", async () => {
    const name = `${prefix}cancel`;
    const createPoller = await client.beginCreateCertificate(name, {
      issuerName: "Unknown",
      subject: "CN=sdk-cancel.example",
    }, fast);
    // Not polled to completion (it waits for a merge): the poller's first
    // state, after the 202 and one GET of the operation.
    const first = createPoller.getOperationState();
    assert.equal(first.isStarted, true);
    assert.ok(!first.isCompleted, "still inProgress");
    assert.equal(createPoller.isDone(), false);
    createPoller.stopPolling();
    // Meanwhile the certificate reads as its pending version.
    const pending = await client.getCertificate(name);
    assert.equal(pending.name, name);
    assert.equal(pending.properties.enabled, false, "the pending version is disabled");
    assert.equal(pending.cer, undefined, "the pending version has no cer");
    assert.equal(pending.policy.issuerName, "Unknown");

    const opPoller = await client.getCertificateOperation(name, fast);
    let op = opPoller.getOperationState().certificateOperation;
    assert.equal(op.status, "inProgress");
    assert.equal(op.issuerName, "Unknown");
    assert.equal(op.cancellationRequested, false);
    assert.equal(op.statusDetails, "Pending certificate created. Please Perform Merge to complete the request.");
    assert.ok(op.csr instanceof Uint8Array && op.csr[0] === 0x30, "csr is DER bytes");

    // cancelCertificateOperation: the poller's cancelOperation (PATCH pending).
    await opPoller.cancelOperation();
    op = opPoller.getOperationState().certificateOperation;
    assert.equal(op.cancellationRequested, true);
    assert.equal(op.status, "inProgress", "a cancellation is only a request");

    const deleted = await client.deleteCertificateOperation(name);
    assert.equal(deleted.cancellationRequested, true);
    assert.equal(deleted.status, "inProgress");
    assert.equal(deleted.requestId, op.requestId);

    await expectRestError(client.getCertificateOperation(name, fast), 404);
    // The pending version stays readable.
    const cert = await client.getCertificate(name);
    assert.equal(cert.properties.enabled, false);
    assert.equal(cert.cer, undefined);
  });

  test("merge a chain signed by a certtool CA (the SDK's double base64)", async () => {
    const name = `${prefix}merge`;
    await client.beginCreateCertificate(name, {
      issuerName: "Unknown",
      subject: "CN=sdk-merge.example",
      subjectAlternativeNames: { dnsNames: ["sdk-merge.example"] },
    }, fast);
    const opPoller = await client.getCertificateOperation(name, fast);
    const { csr, status } = opPoller.getOperationState().certificateOperation;
    assert.equal(status, "inProgress");

    const leafPem = signCsr(ca, csr, "merge");
    const caPem = ca.pem();
    // The SDK README's recipe: the PEM body as text bytes; the SDK encodes
    // them as base64 once more on the wire.
    const merged = await client.mergeCertificate(name, [Buffer.from(pemBody(leafPem)), Buffer.from(pemBody(caPem))]);
    const leafDer = Buffer.from(pemBody(leafPem), "base64");
    assert.deepEqual(Buffer.from(merged.cer), leafDer, "cer is the merged leaf");
    assert.deepEqual(Buffer.from(merged.properties.x509Thumbprint), sha1(leafDer), "x5t matches the leaf");
    assert.equal(merged.properties.enabled, true);
    assert.equal(merged.keyId, `${vaultUrl}/keys/${name}/${merged.properties.version}`);

    const after = await client.getCertificateOperation(name, fast);
    const op = after.getOperationState().certificateOperation;
    assert.equal(op.status, "completed");
    assert.equal(op.target, `${vaultUrl}/certificates/${name}`);

    const got = await client.getCertificate(name);
    assert.deepEqual(Buffer.from(got.cer), leafDer);
  });

  test("a create while an Unknown operation is inProgress is a 409 RestError", async () => {
    const name = `${prefix}conflict`;
    await client.beginCreateCertificate(name, { issuerName: "Unknown", subject: "CN=sdk-conflict.example" }, fast);
    await assert.rejects(
      client.beginCreateCertificate(name, { issuerName: "Self", subject: "CN=sdk-conflict.example" }, fast),
      (err) => {
        assert.equal(err.name, "RestError");
        assert.equal(err.statusCode, 409);
        assert.equal(err.code, "Forbidden");
        assert.match(err.message, /can not be created or imported while a pending key vault certificate's status is inProgress/);
        return true;
      });
    // Still the first operation, still waiting.
    const poller = await client.getCertificateOperation(name, fast);
    assert.equal(poller.getOperationState().certificateOperation.status, "inProgress");
  });
});

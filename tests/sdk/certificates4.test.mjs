// The official Azure SDKs against a running certvault: the rest of the
// certificates surface (lists and paging, versions, properties, policy,
// import of PFX and PEM, soft-delete, recover, purge, backup and restore)
// with @azure/keyvault-certificates, and the secret and key behind a
// certificate with @azure/keyvault-secrets and @azure/keyvault-keys.
//
// Run by tests/integration/t_sdk_certificates.sh (set-up: common.mjs).
// Every certificate name starts with CERTVAULT_SDK_PREFIX + "c4-".
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";

import {
  certtool, credential, expectRestError, fast, makeTestCa, pemBody, prefix, sha1, vaultUrl,
} from "./common.mjs";

const client = new CertificateClient(vaultUrl, credential);
const secrets = new SecretClient(vaultUrl, credential);
const keys = new KeyClient(vaultUrl, credential);

const p4 = `${prefix}c4-`;
const ecPolicy = (subject) => ({ issuerName: "Self", subject, keyType: "EC", keyCurveName: "P-256" });

let ca;

before(() => {
  ca = makeTestCa("certvault SDK import CA");
});

after(() => {
  if (ca) ca.dispose();
});

async function createSelf(name, policy = ecPolicy(`CN=${name}.example`)) {
  const poller = await client.beginCreateCertificate(name, policy, fast);
  return poller.pollUntilDone();
}

// A key and a certificate for it signed by the test CA (certtool):
// { keyPem, certPem, certDer, chainPem }.
function makeLeaf(tag, keyArgs, templateLines) {
  const key = join(ca.work, `${tag}.key`);
  const crt = join(ca.work, `${tag}.crt`);
  const tmpl = join(ca.work, `${tag}.tmpl`);
  certtool(["--generate-privkey", ...keyArgs, "--no-text", "--outfile", key]);
  writeFileSync(tmpl, [`serial = ${Date.now()}`, "expiration_days = 30", ...templateLines, ""].join("\n"));
  certtool(["--generate-certificate", "--load-privkey", key, "--load-ca-certificate", ca.cert,
    "--load-ca-privkey", ca.key, "--template", tmpl, "--outfile", crt, "--no-text"]);
  const certPem = readFileSync(crt, "utf8");
  return {
    keyFile: key,
    certFile: crt,
    keyPem: readFileSync(key, "utf8"),
    certPem,
    certDer: Buffer.from(pemBody(certPem), "base64"),
    chainPem: certPem + ca.pem(),
  };
}

// The public key of a private key / certificate as a JWK (for comparing).
const jwkOfPrivate = (pem) => createPublicKey(createPrivateKey(pem)).export({ format: "jwk" });
const jwkOfCert = (der) => new X509Certificate(der).publicKey.export({ format: "jwk" });

// The PEM blocks of a text, by label.
function pemBlocks(text, label) {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, "g");
  return text.match(re) || [];
}

// What GnuTLS reads in a PKCS#12 file without password: its certificates
// (DER) and its private key (PEM).
function readPfx(bytes, tag) {
  const file = join(ca.work, `${tag}.p12`);
  writeFileSync(file, bytes);
  const out = certtool(["--p12-info", "--inder", "--infile", file, "--password", ""]).toString();
  const certs = pemBlocks(out, "CERTIFICATE").map((p) => Buffer.from(pemBody(p), "base64"));
  const keyPem = pemBlocks(out, "PRIVATE KEY")[0];
  return { certs, keyPem };
}

async function listNames(iterable) {
  const names = [];
  for await (const p of iterable) names.push(p.name);
  return names;
}

describe("listPropertiesOfCertificates", () => {
  const names = [];
  before(async () => {
    for (let i = 0; i < 5; i++) {
      const name = `${p4}list-${i}`;
      await createSelf(name);
      names.push(name);
    }
  });

  test("several pages (maxresults 2), each name once, in order", async () => {
    // 4.10.3 does not turn byPage's maxPageSize into maxresults; the
    // option it reads is maxresults itself.
    const pages = [];
    for await (const page of client.listPropertiesOfCertificates({ maxresults: 2 }).byPage({ maxPageSize: 2 })) {
      assert.ok(Array.isArray(page));
      assert.ok(page.length <= 2, `a page of ${page.length}`);
      pages.push(page);
    }
    assert.ok(pages.length >= 3, `${pages.length} pages`);
    for (const page of pages.slice(0, -1)) assert.equal(page.length, 2, "full pages until the last");
    const all = pages.flat().map((p) => p.name);
    assert.equal(new Set(all.map((n) => n.toLowerCase())).size, all.length, "no name twice");
    assert.deepEqual(all.filter((n) => n.startsWith(`${p4}list-`)), names);
    const mine = pages.flat().filter((p) => p.name.startsWith(`${p4}list-`));
    for (const p of mine) {
      assert.equal(p.enabled, true);
      assert.equal(p.id, `${vaultUrl}/certificates/${p.name}`);
      assert.equal(p.vaultUrl, vaultUrl);
      assert.ok(p.x509Thumbprint instanceof Uint8Array && p.x509Thumbprint.length === 20);
    }
  });

  test("includePending lists a certificate that has only a pending version", async () => {
    const name = `${p4}pending`;
    const poller = await client.beginCreateCertificate(name, { issuerName: "Unknown", subject: `CN=${name}.example` }, fast);
    poller.stopPolling();
    assert.ok(!(await listNames(client.listPropertiesOfCertificates())).includes(name), "absent by default");
    let item;
    for await (const p of client.listPropertiesOfCertificates({ includePending: true, maxresults: 3 })) {
      if (p.name === name) item = p;
    }
    assert.ok(item, "present with includePending");
    assert.equal(item.enabled, false);
    assert.equal(item.x509Thumbprint, undefined);
    await client.deleteCertificateOperation(name);
  });
});

describe("listPropertiesOfCertificateVersions", () => {
  test("three versions, one a page, in creation order", async () => {
    const name = `${p4}versions`;
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await createSelf(name)).properties.version);
    assert.equal(new Set(made).size, 3);
    const pages = [];
    for await (const page of client.listPropertiesOfCertificateVersions(name, { maxresults: 1 }).byPage()) pages.push(page);
    assert.equal(pages.length, 3);
    const seen = pages.flat();
    assert.deepEqual(seen.map((p) => p.version), made);
    for (const p of seen) {
      assert.equal(p.name, name);
      assert.equal(p.id, `${vaultUrl}/certificates/${name}/${p.version}`);
      assert.equal(p.enabled, true);
    }
    const all = [];
    for await (const p of client.listPropertiesOfCertificateVersions(name)) all.push(p.version);
    assert.deepEqual(all, made);
  });
});

describe("updateCertificateProperties", () => {
  test("enabled false and tags on the latest, then on a version", async () => {
    const name = `${p4}update`;
    const first = await createSelf(name);
    const second = await createSelf(name);
    const upd = await client.updateCertificateProperties(name, "", { enabled: false, tags: { team: "web", env: "test" } });
    assert.equal(upd.properties.version, second.properties.version);
    assert.equal(upd.properties.enabled, false);
    assert.deepEqual(upd.properties.tags, { team: "web", env: "test" });
    const got = await client.getCertificate(name);
    assert.equal(got.properties.enabled, false);
    assert.deepEqual(got.properties.tags, { team: "web", env: "test" });
    assert.ok(got.properties.updatedOn >= got.properties.createdOn);

    const old = await client.updateCertificateProperties(name, first.properties.version, { tags: { old: "yes" } });
    assert.equal(old.properties.version, first.properties.version);
    assert.equal(old.properties.enabled, true);
    assert.deepEqual(old.properties.tags, { old: "yes" });
    const latest = await client.getCertificate(name);
    assert.deepEqual(latest.properties.tags, { team: "web", env: "test" }, "the latest is untouched");

    const again = await client.updateCertificateProperties(name, second.properties.version, { enabled: true });
    assert.equal(again.properties.enabled, true);
    assert.deepEqual(again.properties.tags, { team: "web", env: "test" }, "tags stay when not given");
    await expectRestError(client.updateCertificateProperties(name, "0".repeat(32), { enabled: false }), 404);
  });
});

describe("getCertificatePolicy / updateCertificatePolicy", () => {
  test("RSA → EC P-256 (as the Python SDK's test does); the next version is EC", async () => {
    const name = `${p4}policy`;
    await createSelf(name, {
      issuerName: "Self", subject: `CN=${name}.example`, keyType: "RSA", keySize: 2048,
      subjectAlternativeNames: { dnsNames: [`${name}.example`] }, validityInMonths: 6,
    });
    const policy = await client.getCertificatePolicy(name);
    assert.equal(policy.keyType, "RSA");
    assert.equal(policy.keySize, 2048);
    assert.equal(policy.subject, `CN=${name}.example`);
    assert.deepEqual(policy.subjectAlternativeNames?.dnsNames, [`${name}.example`]);
    assert.equal(policy.issuerName, "Self");
    assert.equal(policy.validityInMonths, 6);
    assert.equal(policy.enabled, true);

    // 4.10.3 returns an empty policy from updateCertificatePolicy (it never
    // reads the response body): read it back instead.
    await client.updateCertificatePolicy(name, { ...policy, keyType: "EC", keySize: 256, keyCurveName: "P-256" });
    const updated = await client.getCertificatePolicy(name);
    assert.equal(updated.keyType, "EC");
    assert.equal(updated.keyCurveName, "P-256");
    assert.equal(updated.keySize, 256);
    assert.equal(updated.subject, policy.subject, "the subject stays");
    assert.deepEqual(updated.subjectAlternativeNames, policy.subjectAlternativeNames, "the SANs stay");
    assert.equal(updated.validityInMonths, 6);

    const next = await createSelf(name, updated);
    assert.equal(jwkOfCert(next.cer).kty, "EC");
    assert.equal(jwkOfCert(next.cer).crv, "P-256");
    await assert.rejects(client.updateCertificatePolicy(name, { ...updated, keyType: "RSA", keySize: 1024, keyCurveName: undefined }),
      (err) => err.statusCode === 400 && /key_size/.test(err.message));
    assert.equal((await client.getCertificatePolicy(name)).keyType, "EC", "a refused update changes nothing");
  });
});

describe("importCertificate", () => {
  let rsa;
  let ec;
  let pfx;
  before(() => {
    rsa = makeLeaf("imp-rsa", ["--key-type=rsa", "--bits=2048"],
      ['cn = "sdk-import.example"', 'dns_name = "sdk-import.example"', "signing_key", "encryption_key", "tls_www_server"]);
    ec = makeLeaf("imp-ec", ["--key-type=ecdsa", "--curve=secp256r1"],
      ['cn = "sdk-import-ec.example"', "signing_key"]);
    const chain = join(ca.work, "imp-rsa.chain");
    writeFileSync(chain, rsa.chainPem);
    const out = join(ca.work, "imp-rsa.p12");
    certtool(["--to-p12", "--load-privkey", rsa.keyFile, "--load-certificate", chain, "--outder",
      "--password", "s3cret", "--p12-name", "sdk", "--outfile", out]);
    pfx = new Uint8Array(readFileSync(out));
  });

  function checkImported(cert, name, leaf) {
    assert.equal(cert.name, name);
    assert.deepEqual(Buffer.from(cert.cer), leaf.certDer, "cer is the leaf");
    assert.deepEqual(Buffer.from(cert.properties.x509Thumbprint), sha1(leaf.certDer), "x5t is its SHA-1");
    assert.equal(cert.properties.enabled, true);
    assert.equal(cert.keyId, `${vaultUrl}/keys/${name}/${cert.properties.version}`);
    assert.equal(cert.secretId, `${vaultUrl}/secrets/${name}/${cert.properties.version}`);
    assert.equal(cert.policy.issuerName, "Unknown");
  }

  test("a PFX (Uint8Array) with a password, then its secret and key", async () => {
    const name = `${p4}import-pfx`;
    const cert = await client.importCertificate(name, pfx, { password: "s3cret", tags: { via: "sdk" } });
    checkImported(cert, name, rsa);
    assert.equal(cert.policy.contentType, "application/x-pkcs12");
    assert.equal(cert.policy.subject, "CN=sdk-import.example");
    assert.deepEqual(cert.policy.subjectAlternativeNames?.dnsNames, ["sdk-import.example"]);
    assert.equal(cert.policy.keyType, "RSA");
    assert.deepEqual(cert.properties.tags, { via: "sdk" });

    const secret = await secrets.getSecret(name);
    assert.equal(secret.properties.contentType, "application/x-pkcs12");
    assert.equal(secret.properties.managed, true);
    assert.equal(secret.properties.certificateKeyId, cert.keyId);
    assert.equal(secret.properties.version, cert.properties.version);
    assert.equal(secret.properties.enabled, true);
    const bytes = Buffer.from(secret.value, "base64");
    assert.equal(bytes[0], 0x30, "the secret is base64 of a DER PKCS#12");
    const { certs, keyPem } = readPfx(bytes, "secret-pfx");
    assert.ok(keyPem, "the PKCS#12 holds the private key, readable without a password");
    assert.deepEqual(jwkOfPrivate(keyPem), jwkOfPrivate(rsa.keyPem), "the same private key");
    assert.ok(certs.some((c) => c.equals(rsa.certDer)), "the leaf is in the PKCS#12");
    assert.ok(certs.some((c) => c.equals(Buffer.from(pemBody(ca.pem()), "base64"))), "so is the CA (the chain)");

    const key = await keys.getKey(name);
    assert.equal(key.id, cert.keyId);
    assert.equal(key.properties.managed, true);
    assert.equal(key.keyType, "RSA");
    const want = jwkOfCert(rsa.certDer);
    assert.equal(Buffer.from(key.key.n).toString("base64url"), want.n);
    assert.equal(Buffer.from(key.key.e).toString("base64url"), want.e);
    assert.equal(key.key.d, undefined, "no private part");
    const byVersion = await keys.getKey(name, { version: cert.properties.version });
    assert.equal(byVersion.id, cert.keyId);
  });

  test("a wrong PFX password is a 400", async () => {
    await expectRestError(client.importCertificate(`${p4}import-badpw`, pfx, { password: "wrong" }), 400);
  });

  test("PEM text as a Buffer (the SDK sends it base64-encoded)", async () => {
    const name = `${p4}import-pem64`;
    const cert = await client.importCertificate(name, Buffer.from(ec.keyPem + ec.chainPem));
    checkImported(cert, name, ec);
    assert.equal(cert.policy.keyType, "EC");
    assert.equal(cert.policy.keyCurveName, "P-256");
  });

  test("PEM text with the PEM content type (the SDK sends the text itself), then its secret and key", async () => {
    const name = `${p4}import-pem`;
    const cert = await client.importCertificate(name, Buffer.from(ec.chainPem + ec.keyPem),
      { policy: { contentType: "application/x-pem-file" } });
    checkImported(cert, name, ec);
    assert.equal(cert.policy.contentType, "application/x-pem-file");

    const secret = await secrets.getSecret(name);
    assert.equal(secret.properties.contentType, "application/x-pem-file");
    assert.equal(secret.properties.managed, true);
    assert.equal(secret.properties.certificateKeyId, cert.keyId);
    assert.equal(pemBlocks(secret.value, "(?:EC )?PRIVATE KEY").length, 1, "the PEM holds one private key");
    assert.deepEqual(jwkOfPrivate(secret.value), jwkOfPrivate(ec.keyPem), "the same private key");
    const certs = pemBlocks(secret.value, "CERTIFICATE").map((p) => Buffer.from(pemBody(p), "base64"));
    assert.deepEqual(certs[0], ec.certDer, "the leaf first");
    assert.equal(certs.length, 2, "with the chain");

    const key = await keys.getKey(name);
    assert.equal(key.id, cert.keyId);
    assert.equal(key.keyType, "EC");
    assert.equal(key.key.crv, "P-256");
    const want = jwkOfCert(ec.certDer);
    assert.equal(Buffer.from(key.key.x).toString("base64url"), want.x);
    assert.equal(Buffer.from(key.key.y).toString("base64url"), want.y);
  });
});

describe("secrets: 403 as Key Vault does", () => {
  test("a non-exportable key's secret", async () => {
    const name = `${p4}nonexportable`;
    const cert = await createSelf(name, { ...ecPolicy(`CN=${name}.example`), exportable: false });
    assert.equal(cert.policy.exportable, false);
    await expectRestError(secrets.getSecret(name), 403);
    const key = await keys.getKey(name);
    assert.equal(key.id, cert.keyId, "the public key is still served");
  });

  test("a disabled version's secret", async () => {
    const name = `${p4}disabled`;
    const cert = await createSelf(name);
    assert.equal((await secrets.getSecret(name)).properties.enabled, true);
    await client.updateCertificateProperties(name, cert.properties.version, { enabled: false });
    await expectRestError(secrets.getSecret(name), 403);
    await expectRestError(secrets.getSecret(name, { version: cert.properties.version }), 403);
  });

  test("unknown names are 404", async () => {
    await expectRestError(secrets.getSecret(`${p4}no-such-secret`), 404);
    await expectRestError(keys.getKey(`${p4}no-such-key`), 404);
  });
});

describe("soft-delete, recover, purge", () => {
  test("beginDeleteCertificate → getDeletedCertificate → listDeletedCertificates → recover → delete → purge", async () => {
    const name = `${p4}deleted`;
    const cert = await createSelf(name);
    const poller = await client.beginDeleteCertificate(name, fast);
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, name);
    assert.equal(deleted.recoveryId, `${vaultUrl}/deletedcertificates/${name}`);
    assert.ok(deleted.deletedOn instanceof Date);
    assert.ok(deleted.scheduledPurgeDate > deleted.deletedOn);
    assert.equal(deleted.properties.version, cert.properties.version);
    await expectRestError(client.getCertificate(name), 404);

    const got = await client.getDeletedCertificate(name);
    assert.equal(got.recoveryId, deleted.recoveryId);
    assert.deepEqual(Buffer.from(got.cer), Buffer.from(cert.cer));

    let listed;
    for await (const d of client.listDeletedCertificates()) if (d.name === name) listed = d;
    assert.ok(listed, "listed by listDeletedCertificates");
    assert.equal(listed.recoveryId, deleted.recoveryId);
    const deletedNames = [];
    for await (const page of client.listDeletedCertificates({ maxresults: 1 }).byPage()) {
      assert.ok(page.length <= 1);
      deletedNames.push(...page.map((d) => d.name));
    }
    assert.ok(deletedNames.includes(name), "and when paged one by one");

    await expectRestError(client.beginCreateCertificate(name, ecPolicy(`CN=${name}.example`), fast), 409);

    const recover = await client.beginRecoverDeletedCertificate(name, fast);
    const recovered = await recover.pollUntilDone();
    assert.equal(recovered.properties.version, cert.properties.version);
    assert.equal((await client.getCertificate(name)).properties.version, cert.properties.version);
    await expectRestError(client.getDeletedCertificate(name), 404);

    await (await client.beginDeleteCertificate(name, fast)).pollUntilDone();
    await client.purgeDeletedCertificate(name);
    await expectRestError(client.getDeletedCertificate(name), 404);
    await expectRestError(client.getCertificate(name), 404);
    // The name is free again.
    await createSelf(name);
  });
});

describe("backup and restore", () => {
  test("backupCertificate → delete → purge → restoreCertificateBackup", async () => {
    const name = `${p4}backup`;
    const v1 = await createSelf(name);
    const v2 = await createSelf(name);
    const backup = await client.backupCertificate(name);
    assert.ok(backup instanceof Uint8Array && backup.length > 100);

    await expectRestError(client.restoreCertificateBackup(backup), 409);

    await (await client.beginDeleteCertificate(name, fast)).pollUntilDone();
    await client.purgeDeletedCertificate(name);
    await expectRestError(client.getCertificate(name), 404);

    const restored = await client.restoreCertificateBackup(backup);
    assert.equal(restored.name, name);
    assert.equal(restored.properties.version, v2.properties.version);
    assert.deepEqual(Buffer.from(restored.cer), Buffer.from(v2.cer));
    const versions = [];
    for await (const p of client.listPropertiesOfCertificateVersions(name)) versions.push(p.version);
    assert.deepEqual(versions, [v1.properties.version, v2.properties.version], "every version came back");
    // The restored key is the same key: its public part and its secret.
    const key = await keys.getKey(name);
    assert.deepEqual(
      { x: Buffer.from(key.key.x).toString("base64url"), y: Buffer.from(key.key.y).toString("base64url") },
      (({ x, y }) => ({ x, y }))(jwkOfCert(v2.cer)));
    const { keyPem } = readPfx(Buffer.from((await secrets.getSecret(name)).value, "base64"), "restored");
    assert.deepEqual(jwkOfPrivate(keyPem), jwkOfCert(v2.cer), "the private key came back");

    const tampered = Uint8Array.from(backup);
    tampered[Math.floor(tampered.length / 2)] ^= 0x01;
    await (await client.beginDeleteCertificate(name, fast)).pollUntilDone();
    await client.purgeDeletedCertificate(name);
    await expectRestError(client.restoreCertificateBackup(tampered), 400);
  });
});

// The official Azure SDK (@azure/keyvault-certificates) against a running
// certvault: issuer objects and the vault's certificate contacts.
//
// createIssuer, getIssuer, updateIssuer, listPropertiesOfIssuers (across
// pages of one), deleteIssuer; setContacts, getContacts, deleteContacts.
// Run by tests/integration/t_sdk_certificates.sh with the other
// *.test.mjs files; the shared set-up (vault URL, credential, name prefix)
// is in common.mjs. Issuers are named with the run's prefix and deleted
// here (the wrapper removes leftovers); the vault's contacts are put back
// as they were.
//
// Note: the SDK parses an issuer's id with its generic identifier parser,
// so IssuerProperties.name reads "issuers" for
// https://host/certificates/issuers/{name}; the tests check the id.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";

import { CertificateClient } from "@azure/keyvault-certificates";

import { credential, expectRestError, prefix, vaultUrl } from "./common.mjs";

const client = new CertificateClient(vaultUrl, credential);
const issuerId = (name) => `${vaultUrl}/certificates/issuers/${name}`;

describe("issuers", () => {
  const made = [];
  const name = (tag) => {
    const n = `${prefix}iss-${tag}`;
    made.push(n);
    return n;
  };

  after(async () => {
    for (const n of made) {
      try {
        await client.deleteIssuer(n);
      } catch {
        // already deleted by the test
      }
    }
  });

  test("createIssuer with every option, then getIssuer; the password never comes back", async () => {
    const n = name("full");
    const admins = [{ firstName: "Ada", lastName: "Lovelace", email: "ada@example.org", phone: "+44 1" }];
    const created = await client.createIssuer(n, "DigiCert", {
      accountId: "acct-1",
      password: "sdk-secret-pw",
      organizationId: "org-1",
      administratorContacts: admins,
      enabled: true,
    });
    assert.equal(created.id, issuerId(n));
    assert.equal(created.provider, "DigiCert");
    assert.equal(created.accountId, "acct-1");
    assert.equal(created.password, undefined);
    assert.equal(created.organizationId, "org-1");
    assert.deepEqual(created.administratorContacts, admins);
    assert.equal(created.enabled, true);
    assert.ok(created.createdOn instanceof Date && created.createdOn.getTime() > 0);
    assert.ok(created.updatedOn instanceof Date);

    const got = await client.getIssuer(n);
    assert.equal(got.id, issuerId(n));
    assert.equal(got.provider, "DigiCert");
    assert.equal(got.accountId, "acct-1");
    assert.equal(got.password, undefined);
    assert.equal(got.organizationId, "org-1");
    assert.deepEqual(got.administratorContacts, admins);
    assert.equal(got.enabled, true);
    assert.equal(got.createdOn.getTime(), created.createdOn.getTime());
  });

  test("createIssuer with a provider only", async () => {
    const n = name("bare");
    const created = await client.createIssuer(n, "Test");
    assert.equal(created.id, issuerId(n));
    assert.equal(created.provider, "Test");
    assert.equal(created.accountId, undefined);
    assert.equal(created.enabled, true);
    assert.deepEqual(created.administratorContacts, []);
  });

  test("createIssuer disabled, then a create naming it is refused", async () => {
    const n = name("off");
    const created = await client.createIssuer(n, "DigiCert", { enabled: false });
    assert.equal(created.enabled, false);
    await expectRestError(client.beginCreateCertificate(`${prefix}iss-off-cert`, {
      issuerName: n, subject: "CN=off.example",
    }), 400);
  });

  test("updateIssuer changes what it is given and keeps the rest", async () => {
    const n = name("upd");
    await client.createIssuer(n, "DigiCert", { accountId: "acct-1", password: "pw", organizationId: "org-1" });
    let up = await client.updateIssuer(n, { provider: "GlobalSign" });
    assert.equal(up.provider, "GlobalSign");
    assert.equal(up.accountId, "acct-1");
    assert.equal(up.organizationId, "org-1");
    assert.equal(up.enabled, true);
    up = await client.updateIssuer(n, { accountId: "acct-2" });
    assert.equal(up.provider, "GlobalSign");
    assert.equal(up.accountId, "acct-2");
    assert.equal(up.password, undefined);
    const got = await client.getIssuer(n);
    assert.equal(got.provider, "GlobalSign");
    assert.equal(got.accountId, "acct-2");
    assert.equal(got.organizationId, "org-1");
    assert.ok(got.updatedOn.getTime() >= got.createdOn.getTime());
    await expectRestError(client.updateIssuer(`${prefix}iss-none`, { provider: "X" }), 404);
  });

  test("listPropertiesOfIssuers, also by pages of one", async () => {
    const a = name("list-a");
    const b = name("list-b");
    await client.createIssuer(a, "Test");
    await client.createIssuer(b, "LocalCA");
    const all = [];
    for await (const p of client.listPropertiesOfIssuers()) all.push(p);
    const mine = all.filter((p) => p.id === issuerId(a) || p.id === issuerId(b));
    assert.deepEqual(mine.map((p) => [p.id, p.provider]), [[issuerId(a), "Test"], [issuerId(b), "LocalCA"]]);

    const pages = [];
    for await (const page of client.listPropertiesOfIssuers({ maxresults: 1 }).byPage()) pages.push(page);
    assert.ok(pages.length >= all.length, `${pages.length} pages for ${all.length} issuers`);
    assert.ok(pages.every((p) => Array.isArray(p) && p.length <= 1));
    assert.deepEqual(pages.flat().map((p) => p.id), all.map((p) => p.id));
  });

  test("deleteIssuer answers the last state; then it is gone", async () => {
    const n = name("del");
    await client.createIssuer(n, "DigiCert", { accountId: "acct-d", password: "pw-d" });
    const gone = await client.deleteIssuer(n);
    assert.equal(gone.id, issuerId(n));
    assert.equal(gone.provider, "DigiCert");
    assert.equal(gone.accountId, "acct-d");
    assert.equal(gone.password, undefined);
    await expectRestError(client.getIssuer(n), 404);
    await expectRestError(client.deleteIssuer(n), 404);
  });

  test("reserved and unknown names", async () => {
    await expectRestError(client.createIssuer("Self", "DigiCert"), 400);
    await expectRestError(client.createIssuer("unknown", "DigiCert"), 400);
    await expectRestError(client.getIssuer(`${prefix}iss-missing`), 404);
  });
});

describe("contacts", () => {
  let saved = null;

  test("setContacts, getContacts, deleteContacts", async () => {
    try {
      saved = await client.getContacts();
    } catch (err) {
      assert.equal(err.statusCode, 404);
    }
    if (saved) await client.deleteContacts();
    await expectRestError(client.getContacts(), 404);

    const list = [
      { email: "ops@example.org", name: "Ops", phone: "+1 555 0100" },
      { name: "Night shift" },
      { email: "pki@example.org" },
    ];
    const set = await client.setContacts(list);
    assert.deepEqual(set, [
      { email: "ops@example.org", name: "Ops", phone: "+1 555 0100" },
      { email: undefined, name: "Night shift", phone: undefined },
      { email: "pki@example.org", name: undefined, phone: undefined },
    ]);
    assert.deepEqual(await client.getContacts(), set);

    const replaced = await client.setContacts([{ email: "new@example.org", name: "New" }]);
    assert.deepEqual(replaced, [{ email: "new@example.org", name: "New", phone: undefined }]);
    await expectRestError(client.setContacts([{ email: "not an email" }]), 400);
    assert.deepEqual(await client.getContacts(), replaced);

    // 200 with a JSON body is what the SDK needs here. 4.10.3 maps the raw
    // response body ({"id","contacts"}) as if it were deserialized
    // ({contactList}), so it always returns [] — also against Key Vault;
    // t_contacts.sh checks that the body holds the removed list.
    const removed = await client.deleteContacts();
    assert.ok(Array.isArray(removed));
    await expectRestError(client.getContacts(), 404);
    await expectRestError(client.deleteContacts(), 404);
  });

  after(async () => {
    if (saved && saved.length > 0) await client.setContacts(saved);
  });
});

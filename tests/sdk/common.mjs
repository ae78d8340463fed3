// What the SDK test files share: the vault URL, the credential and the name
// prefix from the environment that tests/integration/t_sdk_certificates.sh
// sets (the stack's env file), fast polling, and a throwaway CA made with
// GnuTLS certtool.
//
// The SDK is used unmodified, with its challenge resource verification ON:
// the vault is addressed as https://demo.vault.localhost:PORT (the
// preload resolve-localhost.mjs makes *.localhost resolve to 127.0.0.1 in
// this process) and the server's challenge names
// resource="https://vault.localhost"; NODE_EXTRA_CA_CERTS trusts the
// stack's certificate.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const env = process.env;
for (const v of ["CERTVAULT_TOKEN", "CERTVAULT_VAULT_HOST", "CERTVAULT_HTTPS_PORT"]) {
  if (!env[v]) throw new Error(`${v} is not set: run me through tests/integration/t_sdk_certificates.sh`);
}
export const vaultUrl = `https://${env.CERTVAULT_VAULT_HOST}:${env.CERTVAULT_HTTPS_PORT}`;

// Every certificate name starts with this; the wrapper removes those
// certificates from the database afterwards.
export const prefix = env.CERTVAULT_SDK_PREFIX || `sdk-${randomBytes(4).toString("hex")}-`;

// Any TokenCredential will do: hand the SDK the stack's access token.
export const credential = {
  getToken: async () => ({ token: env.CERTVAULT_TOKEN, expiresOnTimestamp: Date.now() + 3600e3 }),
};

// Poll fast: the service finishes Self certificates, deletes and recovers
// within the request.
export const fast = { intervalInMs: 100 };

export function certtool(args, options = {}) {
  return execFileSync("certtool", args, { stdio: ["ignore", "pipe", "pipe"], ...options });
}

export function pemArmour(label, der) {
  const b64 = Buffer.from(der).toString("base64").match(/.{1,64}/g).join("\n");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

// The base64 body of a PEM block (armour and line breaks removed).
export function pemBody(pem) {
  return pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
}

export function sha1(bytes) {
  return createHash("sha1").update(bytes).digest();
}

// The promise rejects with a RestError of that status.
export async function expectRestError(promise, statusCode) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, "RestError", `expected a RestError, got ${err.name}: ${err.message}`);
    assert.equal(err.statusCode, statusCode, `status of ${err.message}`);
    return true;
  });
}

// A work directory with a throwaway CA (EC P-256, certtool): call it from
// a before() hook, and dispose() from after().
export function makeTestCa(label = "certvault SDK test CA") {
  const work = mkdtempSync(join(tmpdir(), "certvault-sdk-"));
  const ca = { work, key: join(work, "ca.key"), cert: join(work, "ca.crt") };
  writeFileSync(join(work, "ca.tmpl"),
    `cn = "${label}"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 30\n`);
  certtool(["--generate-privkey", "--key-type=ecdsa", "--curve=secp256r1", "--outfile", ca.key]);
  certtool(["--generate-self-signed", "--load-privkey", ca.key, "--template",
    join(work, "ca.tmpl"), "--outfile", ca.cert]);
  ca.pem = () => readFileSync(ca.cert, "utf8");
  ca.dispose = () => rmSync(work, { recursive: true, force: true });
  return ca;
}

// Sign a CSR (DER bytes, as the SDK hands it out) with the test CA; returns
// the leaf's PEM text.
export function signCsr(ca, csrDer, tag) {
  const req = join(ca.work, `${tag}.csr`);
  const out = join(ca.work, `${tag}.crt`);
  const tmpl = join(ca.work, `${tag}.tmpl`);
  writeFileSync(req, pemArmour("CERTIFICATE REQUEST", csrDer));
  writeFileSync(tmpl, `serial = ${Date.now()}\nexpiration_days = 30\nhonor_crq_extensions\n`);
  certtool(["--generate-certificate", "--load-request", req, "--load-ca-certificate", ca.cert,
    "--load-ca-privkey", ca.key, "--template", tmpl, "--outfile", out]);
  return readFileSync(out, "utf8");
}

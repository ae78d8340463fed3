#!/usr/bin/env bash
# The official Azure SDK for JavaScript (@azure/keyvault-certificates,
# -secrets and -keys, from tests/sdk/package-lock.json) against the running
# stack, every tests/sdk/*.test.mjs: lifecycle.test.mjs (create with Self
# to completion, getCertificate, getCertificateOperation, cancel and delete
# of an Unknown operation, merge of a chain signed by a certtool CA, the
# 409 of a create while an operation is inProgress) and
# certificates4.test.mjs (lists across pages, versions, properties,
# policy, import of PFX and PEM, the secret and key of a certificate with
# SecretClient and KeyClient, soft-delete, recover, purge, backup and
# restore), issuers.test.mjs (createIssuer, getIssuer, updateIssuer,
# listPropertiesOfIssuers, deleteIssuer; setContacts, getContacts,
# deleteContacts), localca.test.mjs (beginCreateCertificate with a LocalCA
# issuer polled to completion by the stack's certvault-worker, approval
# with certvault-admin, a partner provider's failure).
#
# Installs tests/sdk/node_modules with `npm ci` when it is missing (./test.sh
# installs node and npm). The SDK talks to https://VAULT_HOST:PORT with its
# challenge resource verification on; tests/sdk/resolve-localhost.mjs makes
# *.localhost resolve to 127.0.0.1 inside node, NODE_EXTRA_CA_CERTS trusts
# the stack's certificate. Output ends with node's own test summary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SDK_DIR=$CERTVAULT_SRC_DIR/tests/sdk
for t_cmd in node npm certtool; do
	if ! command -v "$t_cmd" >/dev/null 2>&1; then
		echo "ERROR: $T_NAME: $t_cmd is not installed (./test.sh installs it)"
		T_DONE=1
		exit 99
	fi
done

# Certificates the SDK makes are named PREFIX*; whatever of them is left
# (live or soft-deleted) is removed from the database when the test ends
# (the lists of other tests must not see them).
SDK_PREFIX=sdk-$(cv_random_hex 4)-
# shellcheck disable=SC2317 # run by the EXIT trap
sdk_cleanup() {
	t_psql "DELETE FROM certificates WHERE vault_id = (SELECT id FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME') AND name LIKE '${SDK_PREFIX}%'" >/dev/null
	# Issuers too (issuers.test.mjs deletes its own; this is for a crash).
	t_psql "DELETE FROM issuers WHERE vault_id = (SELECT id FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME') AND name LIKE '${SDK_PREFIX}%'" >/dev/null
}
t_on_exit sdk_cleanup

if [ ! -d "$SDK_DIR/node_modules/@azure/keyvault-certificates" ] ||
	[ ! -d "$SDK_DIR/node_modules/@azure/keyvault-secrets" ] ||
	[ ! -d "$SDK_DIR/node_modules/@azure/keyvault-keys" ]; then
	diag "installing the SDK: npm ci in $SDK_DIR"
	if ! (cd "$SDK_DIR" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$T_TMP/npm.log" 2>&1; then
		sed 's/^/# /' "$T_TMP/npm.log"
		bail "npm ci in tests/sdk failed"
	fi
fi
for t_pkg in keyvault-certificates keyvault-secrets keyvault-keys; do
	diag "node $(node --version), @azure/$t_pkg $(node -p 'require(process.argv[1]).version' \
		"$SDK_DIR/node_modules/@azure/$t_pkg/package.json")"
done

# cv_load_env exported the env file's variables (CERTVAULT_TOKEN,
# CERTVAULT_VAULT_HOST, CERTVAULT_HTTPS_PORT, ...); node reads them.
rc=0
(
	cd "$SDK_DIR"
	CERTVAULT_SDK_PREFIX=$SDK_PREFIX NODE_EXTRA_CA_CERTS=$CERTVAULT_CA \
		exec timeout 300 node --import ./resolve-localhost.mjs --test --test-reporter=tap \
		./*.test.mjs
) || rc=$?

# node's summary ("# pass N", "# fail N") is the end of the output.
T_DONE=1
exit "$rc"

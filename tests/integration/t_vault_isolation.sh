#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/t_on_exit
# Multi-vault by Host header on one installation: two vaults of their own,
# A and B (hosts a.…vault.localhost and b.…vault.localhost, covered by the
# stack's *.vault.localhost certificate), each with a token. In A: a Self
# certificate, an Unknown one (pending operation, CSR), one soft-deleted,
# a LocalCA issuer (and a certificate it issued), contacts. Then from B,
# with B's token and B's Host:
#   - A's names, versions, ids, pending operations, issuers, contacts,
#     secrets, keys and deleted certificates are not found (404 with Key
#     Vault's codes) or absent from lists, read or written, and no request
#     of B changed anything of A (a fingerprint of A's rows);
#   - list pages (paged with maxresults=1, following nextLink) and every
#     body B ever received show only B's objects and never A's host,
#     versions, contacts or CA;
#   - the same names exist in both vaults independently (create, issuer,
#     contacts, soft-delete and purge in B leave A's alone); A's version ids
#     under B's name are 404; A's chain does not merge into B's operation of
#     the same name; B's policy cannot name A's issuer (when B has none of
#     that name); B's LocalCA issuer of the same name signs with B's own CA;
#   - backup: A's blob restores into B. This is the behaviour the README
#     documents ("it restores on any certvault that has the same master key
#     file"; Key Vault too restores within the subscription): one master key
#     seals every vault's blobs. The restored certificate is B's own: ids on
#     B's host, a key row of B's sealed anew, and deleting or purging it in B
#     leaves A's untouched. Into a name that exists in B: 409.
#   - tokens: A's token on B's Host → 401 with B's challenge, and B's on A's
#     → 401; both on the demo vault's host, and the demo token on theirs,
#     → 401; B's token on an unknown host (the default vault) → 401; B's
#     Host in capitals is B.
# Both vaults' rows are deleted at exit.
. "$(dirname "$0")/lib.sh"

for t_cmd in certtool openssl; do
	command -v "$t_cmd" >/dev/null 2>&1 || { echo "ERROR: $t_cmd is not installed"; T_DONE=1; exit 99; }
done

API=7.5
SFX=$(cv_random_hex 3)
VA=iso-a-$SFX
VB=iso-b-$SFX
HA=$VA.vault.localhost
HB=$VB.vault.localhost
PORT=$CERTVAULT_HTTPS_PORT
BASE_A=https://$HA:$PORT
BASE_B=https://$HB:$PORT
INVALID='The access token is invalid, expired or revoked.'

vaults_cleanup() {
	t_psql "DELETE FROM vaults WHERE name IN ('$VA', '$VB')" >/dev/null
}
t_on_exit vaults_cleanup
for v in "$VA:$HA" "$VB:$HB"; do
	out=$(cv_admin vault create "${v%%:*}" --host "${v#*:}" 2>&1)
	assert_eq "${v%%:*}" "$out" "vault create ${v%%:*} --host ${v#*:}" || bail "no vault"
done
VA_ID=$(t_psql "SELECT id FROM vaults WHERE name = '$VA'")
VB_ID=$(t_psql "SELECT id FROM vaults WHERE name = '$VB'")

new_token() {
	local tok
	tok=$(cv_admin token create --vault "$2" --name "$3" 2>"$T_TMP/admin.err") ||
		bail "token create --vault $2: $(cat "$T_TMP/admin.err")"
	[[ $tok =~ ^cv_[0-9a-f]{64}$ ]] || bail "token create printed no token"
	printf -v "$1" '%s' "$tok"
}
new_token TA "$VA" iso-a
new_token TB "$VB" iso-b

# a / b METHOD PATH [JSON]: a request to vault A / B with its own token
# (JSON: sent as the body; "-": an empty body). Every body B receives is
# kept in B_SEEN.
B_SEEN=$T_TMP/b-seen
: >"$B_SEEN"
req() {
	local host=$1 token=$2 method=$3 path=$4 body=${5-} q='?'
	[[ $path == *\?* ]] && q='&'
	if [ "$body" = - ]; then
		KV_HOST=$host KV_TOKEN=$token kv_curl "$method" "$path${q}api-version=$API" --data-binary ""
	elif [ -n "$body" ]; then
		KV_HOST=$host KV_TOKEN=$token kv_send "$method" "$path${q}api-version=$API" "$body"
	else
		KV_HOST=$host KV_TOKEN=$token kv_curl "$method" "$path${q}api-version=$API"
	fi
}
a() { req "$HA" "$TA" "$@"; }
b() {
	req "$HB" "$TB" "$@"
	printf '%s\n%s\n' "$KV_HEADERS" "$KV_BODY" >>"$B_SEEN"
}

# policy SUBJECT_CN ISSUER: an exportable EC P-256 policy with a PEM secret.
policy() {
	jq -nc --arg cn "$1" --arg i "$2" '{policy: {
		key_props: {kty: "EC", crv: "P-256", exportable: true},
		secret_props: {contentType: "application/x-pem-file"},
		x509_props: {subject: ("CN=" + $cn), sans: {dns_names: [$cn]}, validity_months: 6},
		issuer: {name: $i}}}'
}

# must WHAT: the last request answered 2xx, or the test cannot go on.
must() {
	[[ $KV_STATUS == 2?? ]] || bail "$1: $KV_STATUS $KV_BODY"
}

# --- vault A -----------------------------------------------------------------------------------
SELF=iso-self
UNK=iso-unknown
DEL=iso-deleted
VIA=iso-via-issuer
ISS=iso-issuer
a POST "/certificates/$SELF/create" "$(policy self-a.example Self)"
must "A: create $SELF"
a GET "/certificates/$SELF/"
must "A: get $SELF"
A_SELF_VER=$(printf '%s' "$KV_BODY" | jq -r .id)
A_SELF_VER=${A_SELF_VER##*/}
a GET "/keys/$SELF/"
A_SELF_JWK=$(printf '%s' "$KV_BODY" | jq -c .key)
a GET "/secrets/$SELF/"
# key_sum: SHA-256 of the private key block of the last /secrets answer
# (keys are compared by digest: a failing check must not print a key).
key_sum() {
	local k
	k=$(printf '%s' "$KV_BODY" | jq -r .value 2>/dev/null | sed -n '/BEGIN PRIVATE KEY/,/END PRIVATE KEY/p')
	if [ -n "$k" ]; then printf '%s\n' "$k" | sha256sum | cut -c1-64; else echo none; fi
}
A_SELF_KEY=$(key_sum)
assert_match '^[0-9a-f]{64}$' "$A_SELF_KEY" "A: the secret of $SELF holds its private key"
a POST "/certificates/$UNK/create" "$(policy unknown-a.example Unknown)"
must "A: create $UNK"
a GET "/certificates/$UNK/pending"
A_UNK_CSR=$(printf '%s' "$KV_BODY" | jq -r .csr)
A_UNK_REQ=$(printf '%s' "$KV_BODY" | jq -r .request_id)
A_UNK_VER=$(t_psql "SELECT v.version FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id
	WHERE c.vault_id = $VA_ID AND c.name = '$UNK'")
a POST "/certificates/$DEL/create" "$(policy deleted-a.example Self)"
must "A: create $DEL"
a GET "/certificates/$DEL/"
A_DEL_VER=$(printf '%s' "$KV_BODY" | jq -r .id)
A_DEL_VER=${A_DEL_VER##*/}
a DELETE "/certificates/$DEL"
must "A: delete $DEL"
a PUT "/certificates/issuers/$ISS" '{"provider":"LocalCA","credentials":{"account_id":"acct-of-a"}}'
must "A: PUT issuer $ISS"
a PUT /certificates/contacts '{"contacts":[{"email":"alice@a.example","name":"Alice of A"}]}'
must "A: PUT contacts"
a POST "/certificates/$VIA/create" "$(policy via-a.example "$ISS")"
must "A: create $VIA with issuer $ISS"
a POST "/certificates/$SELF/backup" -
must "A: backup $SELF"
A_BLOB=$(printf '%s' "$KV_BODY" | jq -r .value)
# The chain that completes A's Unknown operation (signed by a test CA).
CA=$T_TMP/ca
test_ca_make "$CA" || bail "certtool could not make the test CA"
test_ca_sign "$CA" "$A_UNK_CSR" "$T_TMP/a-unk" || bail "cannot sign A's CSR"
A_MERGE=$(jq -nc --arg l "$(base64 -w0 "$T_TMP/a-unk.der")" --arg c "$(base64 -w0 "$CA/ca.der")" '{x5c: [$l, $c]}')

# The worker issues A's certificate through A's LocalCA issuer.
op_status() { req "$1" "$2" GET "/certificates/$3/pending"; printf '%s' "$KV_BODY" | jq -r .status; }
done_in_a() { [ "$(op_status "$HA" "$TA" "$VIA")" = completed ]; }
assert_true "A: certvault-worker completed $VIA through A's LocalCA issuer" wait_until 30 done_in_a
a GET "/certificates/$VIA/"
b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$T_TMP/a-via.der"
A_VIA_ISSUER=$(der_info "$T_TMP/a-via.der" | sed -n 's/^[[:space:]]*Issuer: //p' | head -n 1)
assert_match "certvault LocalCA $VA/$ISS" "$A_VIA_ISSUER" "A: $VIA is signed by A's own CA"
A_CA=$(cv_admin issuer ca-certificate "$VA" "$ISS" 2>/dev/null)
A_CA_BODY=$(printf '%s\n' "$A_CA" | sed -n '2p')
assert_match '^[A-Za-z0-9+/]{40,}' "$A_CA_BODY" "A: issuer ca-certificate prints A's CA"

# fingerprint VAULT_ID: what requests could change in a vault.
fingerprint() {
	t_psql "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
		SELECT 'c ' || c.name || ' ' || coalesce(c.deleted_at::text, '-') || ' ' || md5(c.policy::text) || ' ' || c.updated_at AS x
			FROM certificates c WHERE c.vault_id = $1
		UNION ALL SELECT 'v ' || v.version || ' ' || v.enabled || ' ' || coalesce(v.tags::text, '') || ' ' || v.updated_at
			FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE c.vault_id = $1
		UNION ALL SELECT 'k ' || k.id || ' ' || md5(k.sealed_private_key::text)
			FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.vault_id = $1
		UNION ALL SELECT 'o ' || o.id || ' ' || o.status || ' ' || o.cancellation_requested || ' ' || o.updated_at
			FROM pending_operations o JOIN certificates c ON c.id = o.certificate_id WHERE c.vault_id = $1
		UNION ALL SELECT 'i ' || i.name || ' ' || i.provider || ' ' || i.enabled || ' ' || i.updated_at FROM issuers i WHERE i.vault_id = $1
		UNION ALL SELECT 'm ' || m.id || ' ' || coalesce(m.email, '') FROM contacts m WHERE m.vault_id = $1) s"
}
A_BEFORE=$(fingerprint "$VA_ID")

# --- B sees nothing of A ---------------------------------------------------------------------
b GET /certificates
assert_status 200 "B: list 200"
assert_json . '{"value":[],"nextLink":null}' "B: the certificate list is empty"
b GET "/certificates?includePending=true"
assert_json . '{"value":[],"nextLink":null}' "B: the list with includePending=true is empty (A's pending $UNK is not in it)"
b GET /deletedcertificates
assert_json . '{"value":[],"nextLink":null}' "B: the deleted list is empty (A's $DEL is not in it)"
b GET /certificates/issuers
assert_status 200 "B: issuer list 200"
assert_json .value '[]' "B: the issuer list is empty"

for n in "$SELF" "$UNK" "$DEL" "$VIA"; do
	b GET "/certificates/$n/"
	assert_kv_error 404 CertificateNotFound "" "B: GET A's $n"
	b GET "/certificates/$n/versions"
	assert_json .value '[]' "B: A's $n has no versions in B ($KV_STATUS)"
	b GET "/certificates/$n/policy"
	assert_status 404 "B: GET the policy of A's $n: 404"
	b GET "/secrets/$n"
	assert_kv_error 404 SecretNotFound "" "B: GET /secrets of A's $n"
	b GET "/keys/$n"
	assert_kv_error 404 KeyNotFound "" "B: GET /keys of A's $n"
	b POST "/certificates/$n/backup" -
	assert_status 404 "B: backup A's $n: 404"
done
for pair in "$SELF/$A_SELF_VER" "$UNK/$A_UNK_VER" "$DEL/$A_DEL_VER"; do
	b GET "/certificates/$pair"
	assert_status 404 "B: GET A's version $pair: 404"
	b GET "/secrets/$pair"
	assert_status 404 "B: GET /secrets of A's version $pair: 404"
	b GET "/keys/$pair"
	assert_status 404 "B: GET /keys of A's version $pair: 404"
	b PATCH "/certificates/$pair" '{"attributes":{"enabled":false},"tags":{"from":"b"}}'
	assert_status 404 "B: PATCH A's version $pair: 404"
done
b PATCH "/certificates/$SELF/policy" '{"x509_props":{"subject":"CN=hijack.example"}}'
assert_status 404 "B: PATCH the policy of A's $SELF: 404"
b DELETE "/certificates/$SELF"
assert_kv_error 404 CertificateNotFound "" "B: DELETE A's $SELF"

b GET "/certificates/$UNK/pending"
assert_kv_error 404 PendingCertificateNotFound "" "B: GET A's pending operation"
b GET "/certificates/$UNK/pending?request_id=$A_UNK_REQ"
assert_status 404 "B: GET A's pending operation by its request_id: 404"
b PATCH "/certificates/$UNK/pending" '{"cancellation_requested":true}'
assert_kv_error 404 PendingCertificateNotFound "" "B: cancel A's pending operation"
b DELETE "/certificates/$UNK/pending"
assert_kv_error 404 PendingCertificateNotFound "" "B: DELETE A's pending operation"
b POST "/certificates/$UNK/pending/merge" "$A_MERGE"
assert_kv_error 404 PendingCertificateNotFound "" "B: merge the chain of A's CSR under A's name"

b GET "/certificates/issuers/$ISS"
assert_kv_error 404 CertificateIssuerNotFound "" "B: GET A's issuer"
b PATCH "/certificates/issuers/$ISS" '{"provider":"DigiCert"}'
assert_kv_error 404 CertificateIssuerNotFound "" "B: PATCH A's issuer"
b DELETE "/certificates/issuers/$ISS"
assert_kv_error 404 CertificateIssuerNotFound "" "B: DELETE A's issuer"
b POST "/certificates/iso-b-uses-a/create" "$(policy uses-a.example "$ISS")"
assert_kv_error 400 BadParameter "The issuer '$ISS' does not exist in this vault." \
	"B: a policy naming A's issuer"

b GET /certificates/contacts
assert_kv_error 404 ContactsNotFound "" "B: GET contacts (A has some)"
b DELETE /certificates/contacts
assert_kv_error 404 ContactsNotFound "" "B: DELETE contacts (A's stay)"

b GET "/deletedcertificates/$DEL"
assert_kv_error 404 CertificateNotFound "" "B: GET A's deleted $DEL"
b POST "/deletedcertificates/$DEL/recover" -
assert_status 404 "B: recover A's deleted $DEL: 404"
b DELETE "/deletedcertificates/$DEL"
assert_status 404 "B: purge A's deleted $DEL: 404"

assert_eq "$A_BEFORE" "$(fingerprint "$VA_ID")" "nothing B asked changed anything of A"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates WHERE vault_id = $VB_ID")" \
	"B has no certificate row (not even from the refused create)"

# --- the same names in B, independently ------------------------------------------------------
b POST "/certificates/$SELF/create" "$(policy self-b.example Self)"
assert_status 202 "B: create $SELF (A has one): 202"
b GET "/certificates/$SELF/"
assert_status 200 "B: GET its own $SELF"
B_SELF_VER=$(printf '%s' "$KV_BODY" | jq -r .id)
B_SELF_VER=${B_SELF_VER##*/}
assert_match "^$BASE_B/certificates/$SELF/[0-9a-f]{32}\$" "$(printf '%s' "$KV_BODY" | jq -r .id)" "B: its $SELF's id is on B's host"
assert_ne "$A_SELF_VER" "$B_SELF_VER" "B: its $SELF has a version of its own"
assert_match 'self-b\.example' "$(printf '%s' "$KV_BODY" | jq -r .policy.x509_props.subject)" "B: its $SELF has its own policy"
b GET "/certificates/$SELF/$A_SELF_VER"
assert_kv_error 404 CertificateNotFound "" "B: A's version id under B's $SELF"
b GET "/secrets/$SELF/$A_SELF_VER"
assert_status 404 "B: /secrets of A's version under B's $SELF: 404"
b GET "/keys/$SELF/$A_SELF_VER"
assert_status 404 "B: /keys of A's version under B's $SELF: 404"
b PATCH "/certificates/$SELF/$A_SELF_VER" '{"tags":{"from":"b"}}'
assert_status 404 "B: PATCH A's version under B's $SELF: 404"
b GET "/keys/$SELF/"
assert_ne "$A_SELF_JWK" "$(printf '%s' "$KV_BODY" | jq -c .key)" "B: its $SELF has its own key"
b GET "/secrets/$SELF/"
B_SELF_KEY=$(key_sum)
assert_match '^[0-9a-f]{64}$' "$B_SELF_KEY" "B: the secret of its $SELF holds a private key"
assert_ne "$A_SELF_KEY" "$B_SELF_KEY" "B: the secret of its $SELF is not A's private key"
b GET "/certificates/$SELF/versions"
assert_json '[.value[].id]' "[\"$BASE_B/certificates/$SELF/$B_SELF_VER\"]" "B: versions of its $SELF: its own only"

b POST "/certificates/$UNK/create" "$(policy unknown-b.example Unknown)"
assert_status 202 "B: create $UNK (A has one pending): 202"
b GET "/certificates/$UNK/pending"
assert_ne "$A_UNK_CSR" "$(printf '%s' "$KV_BODY" | jq -r .csr)" "B: its operation has its own CSR"
assert_ne "$A_UNK_REQ" "$(printf '%s' "$KV_BODY" | jq -r .request_id)" "B: its operation has its own request_id"
b POST "/certificates/$UNK/pending/merge" "$A_MERGE"
assert_kv_error 400 BadParameter \
	"The public key of the certificate in x5c does not match the key of the pending certificate request." \
	"B: A's chain does not merge into B's operation of the same name"
b POST "/certificates/$DEL/create" "$(policy deleted-b.example Self)"
assert_status 202 "B: create $DEL (soft-deleted in A): 202, no ObjectIsDeletedButRecoverable"

b PUT "/certificates/issuers/$ISS" '{"provider":"LocalCA","credentials":{"account_id":"acct-of-b"}}'
assert_status 200 "B: PUT its own issuer $ISS (A has one): 200"
assert_json -r .id "$BASE_B/certificates/issuers/$ISS" "B: its issuer's id is on B's host"
assert_json -r .credentials.account_id acct-of-b "B: its issuer is its own (account_id)"
b POST "/certificates/$VIA/create" "$(policy via-b.example "$ISS")"
assert_status 202 "B: create $VIA through its own $ISS: 202"
assert_true "B: certvault-worker completed $VIA through B's issuer" wait_until 30 eval \
	"[ \"\$(op_status '$HB' '$TB' '$VIA')\" = completed ]"
b GET "/certificates/$VIA/"
b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$T_TMP/b-via.der"
B_VIA_ISSUER=$(der_info "$T_TMP/b-via.der" | sed -n 's/^[[:space:]]*Issuer: //p' | head -n 1)
assert_match "certvault LocalCA $VB/$ISS" "$B_VIA_ISSUER" "B: its $VIA is signed by B's own CA, not A's"
B_CA=$(cv_admin issuer ca-certificate "$VB" "$ISS" 2>/dev/null)
assert_match 'BEGIN CERTIFICATE' "$B_CA" "B: issuer ca-certificate prints B's CA"
assert_ne "$A_CA" "$B_CA" "the two vaults' issuers $ISS have different CAs"

b PUT /certificates/contacts '{"contacts":[{"email":"bob@b.example","name":"Bob of B"}]}'
assert_status 200 "B: PUT its own contacts"
b GET /certificates/contacts
assert_json '[.contacts[].email]' '["bob@b.example"]' "B: its contacts are its own"
assert_json -r .id "$BASE_B/certificates/contacts" "B: the contacts' id is on B's host"

# B's lists, page by page (maxresults=1, following nextLink): B's names only.
# list_all PATH: every id of every page of a list of vault B.
list_all() {
	local path=$1 next pages=0 ids=
	b GET "$path"
	while :; do
		[ "$KV_STATUS" = 200 ] || { echo "HTTP $KV_STATUS"; return; }
		ids+=$(printf '%s' "$KV_BODY" | jq -r '.value[].id')$'\n'
		next=$(printf '%s' "$KV_BODY" | jq -r '.nextLink // empty')
		[ -n "$next" ] || break
		pages=$((pages + 1))
		[ "$pages" -lt 50 ] || { echo "too many pages"; return; }
		[[ $next == "$BASE_B/"* ]] || { echo "nextLink off B's host: $next"; return; }
		KV_HOST=$HB KV_TOKEN=$TB kv_curl GET "${next#"$BASE_B"}"
		printf '%s\n%s\n' "$KV_HEADERS" "$KV_BODY" >>"$B_SEEN"
	done
	printf '%s' "$ids" | sed '/^$/d' | sort
}
ids=$(list_all "/certificates?maxresults=1&includePending=true")
assert_eq "$(printf '%s\n' "$BASE_B/certificates/$DEL" "$BASE_B/certificates/$SELF" "$BASE_B/certificates/$UNK" \
	"$BASE_B/certificates/$VIA" | sort)" "$ids" "B: every page of its list (includePending) shows exactly its own four"
ids=$(list_all "/certificates/issuers?maxresults=1")
assert_eq "$BASE_B/certificates/issuers/$ISS" "$ids" "B: every page of its issuer list shows its own issuer only"

# Soft-delete and purge in B; A's certificate of that name stays.
b DELETE "/certificates/$SELF"
assert_status 200 "B: soft-delete its $SELF"
ids=$(list_all "/deletedcertificates?maxresults=1")
assert_eq "$BASE_B/certificates/$SELF" "$ids" "B: its deleted list shows its own $SELF only (not A's $DEL)"
b DELETE "/deletedcertificates/$SELF"
assert_status 204 "B: purge its $SELF: 204"
a GET "/certificates/$SELF/"
assert_status 200 "A: its $SELF lives on after B purged its own"
assert_json -r .id "$BASE_A/certificates/$SELF/$A_SELF_VER" "A: its $SELF is unchanged"

# --- backup: A's blob restored into B ----------------------------------------------------------
b POST /certificates/restore "$(jq -nc --arg v "$A_BLOB" '{value: $v}')"
assert_status 200 "B: restore A's backup of $SELF (same installation, same master key): 200"
assert_json -r .id "$BASE_B/certificates/$SELF/$A_SELF_VER" "B: the restored certificate has B's host and the backed-up version"
b GET "/secrets/$SELF/"
assert_eq "$A_SELF_KEY" "$(key_sum)" \
	"B: the restored certificate carries A's private key (a backup is the key)"
assert_eq 1 "$(t_psql "SELECT count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id
	WHERE c.vault_id = $VB_ID AND c.name = '$SELF'")" "B: the restore made a key row of B's"
assert_eq 0 "$(t_psql "SELECT count(*) FROM keys kb JOIN certificates cb ON cb.id = kb.certificate_id,
	keys ka JOIN certificates ca ON ca.id = ka.certificate_id
	WHERE cb.vault_id = $VB_ID AND ca.vault_id = $VA_ID AND (kb.key_uid = ka.key_uid OR kb.sealed_private_key = ka.sealed_private_key)")" \
	"B: the restored key is sealed anew (its own key uid and ciphertext)"
b POST /certificates/restore "$(jq -nc --arg v "$A_BLOB" '{value: $v}')"
assert_kv_error 409 Conflict "" "B: restoring A's blob again over B's live $SELF"
a POST /certificates/restore "$(jq -nc --arg v "$A_BLOB" '{value: $v}')"
assert_status 409 "A: restoring its own blob over its live $SELF: 409"
b DELETE "/certificates/$SELF"
b DELETE "/deletedcertificates/$SELF"
assert_status 204 "B: purge the restored $SELF"
a GET "/secrets/$SELF/"
assert_status 200 "A: its $SELF and its secret survive the purge in B"

# A's pending operation is still A's, and its chain still merges in A.
a GET "/certificates/$UNK/pending"
assert_json -r '[.status, .request_id, .cancellation_requested] | map(tostring) | join(" ")' \
	"inProgress $A_UNK_REQ false" "A: its operation is untouched"
a POST "/certificates/$UNK/pending/merge" "$A_MERGE"
assert_status 201 "A: its chain merges into its own operation: 201"
a GET /certificates/contacts
assert_json '[.contacts[].email]' '["alice@a.example"]' "A: its contacts are untouched"
a GET "/certificates/issuers/$ISS"
assert_json -r .credentials.account_id acct-of-a "A: its issuer is untouched"
a GET "/deletedcertificates/$DEL"
assert_status 200 "A: its $DEL is still soft-deleted and readable"
a GET "/deletedcertificates"
assert_json '[.value[].recoveryId]' "[\"$BASE_A/deletedcertificates/$DEL\"]" "A: its deleted list shows its $DEL only"

# --- what B received, all of it ----------------------------------------------------------------
# (counts only: B_SEEN holds B's private keys, which a log must not show)
assert_eq 0 "$(grep -c -F "$HA" "$B_SEEN")" "no response to B names A's host"
for ver in "$A_UNK_VER" "$A_DEL_VER"; do
	# (an error may echo the version B asked for: that is B's own input)
	assert_eq 0 "$(grep -F "$ver" "$B_SEEN" | grep -c -v '^{"error":{"code":')" \
		"no response to B holds A's version $ver"
done
assert_eq 0 "$(grep -c -F -e alice@a.example -e acct-of-a -e "$VA/" "$B_SEEN")" \
	"no response to B holds A's contacts, issuer account or CA name"
assert_eq 0 "$(grep -c -F "$A_CA_BODY" "$B_SEEN")" "no response to B holds A's CA certificate"

# --- tokens belong to their vault --------------------------------------------------------------
KV_HOST=$HB KV_TOKEN=$TA kv_curl GET "/certificates?api-version=$API"
assert_kv_error 401 Unauthorized "$INVALID" "A's token on B's host"
assert_header WWW-Authenticate "$(kv_challenge "$HB:$PORT" "$VB")" "A's token on B's host: B's challenge"
KV_HOST=$HA KV_TOKEN=$TB kv_curl GET "/certificates?api-version=$API"
assert_kv_error 401 Unauthorized "$INVALID" "B's token on A's host"
assert_header WWW-Authenticate "$(kv_challenge "$HA:$PORT" "$VA")" "B's token on A's host: A's challenge"
KV_HOST=$HA KV_TOKEN=$TB kv_curl GET "/secrets/$SELF?api-version=$API"
assert_status 401 "B's token on A's host, A's secret: 401"
KV_HOST=$HA KV_TOKEN=$TB kv_send POST "/certificates/iso-b-in-a/create?api-version=$API" "$(policy x.example Self)"
assert_status 401 "B's token on A's host, a create: 401"
KV_HOST=$CERTVAULT_VAULT_HOST KV_TOKEN=$TB kv_curl GET "/certificates?api-version=$API"
assert_status 401 "B's token on the demo vault's host: 401"
KV_HOST=$CERTVAULT_VAULT_HOST KV_TOKEN=$TA kv_curl GET "/certificates?api-version=$API"
assert_status 401 "A's token on the demo vault's host: 401"
KV_HOST=$HB KV_TOKEN=$CERTVAULT_TOKEN kv_curl GET "/certificates?api-version=$API"
assert_status 401 "the demo token on B's host: 401"
KV_HOST=nobody-$SFX.vault.localhost KV_TOKEN=$TB kv_curl GET "/certificates?api-version=$API"
assert_status 401 "B's token on a host of no vault (the default vault answers): 401"
KV_HOST=${HB^^} KV_TOKEN=$TB kv_curl GET "/certificates?api-version=$API&includePending=true"
assert_status 200 "B's token on B's host in capitals: 200 (host names are case-insensitive)"
assert_eq "" "$(printf '%s' "$KV_BODY" | jq -r '.value[].id' | grep -vi "^https://$HB:$PORT/certificates/" || true)" \
	"B's host in capitals: B's certificates only"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates WHERE name = 'iso-b-in-a'")" "the 401 create made nothing"

t_done

#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through t_on_exit
# The permission matrix, generated from the ONE route table (src/route.c's
# routes[]), so that a route added there is covered without touching this
# test. For every route that needs a token:
#   - a token holding every permission except exactly the route's gets 403
#     Forbidden, Key Vault-shaped, naming that permission and the vault,
#     without a challenge, and the request changes nothing;
#   - a token holding only the route's permission does not get 403 (nor
#     401 or 5xx): for the routes this test knows, with a realistic path
#     and a minimal valid body, the exact status of success;
#   - a token without any permission gets 403 naming the route's permission;
#   - an expired token (expires_at moved into the past in SQL) and a revoked
#     token (certvault-admin token revoke) get 401 with the challenge on the
#     very next request, on every route, whichever FastCGI worker serves it.
# Public routes (ROUTE_PUBLIC: /healthz, the ACME http-01 answers) answer
# without a token. A permission this test does not know fails the test, as
# does a permission list in src/http_auth.c that differs from the test's.
# Everything happens in a vault of its own (deleted at exit).
. "$(dirname "$0")/lib.sh"

for t_cmd in certtool openssl awk; do
	command -v "$t_cmd" >/dev/null 2>&1 || { echo "ERROR: $t_cmd is not installed"; T_DONE=1; exit 99; }
done

API=7.5
# The permissions this test knows (Key Vault's certificate permissions).
KNOWN_PERMS=(get list create import update delete recover purge backup restore
	managecontacts getissuers listissuers setissuers deleteissuers manageissuers)
ROUTE_C=$CERTVAULT_SRC_DIR/src/route.c
AUTH_C=$CERTVAULT_SRC_DIR/src/http_auth.c
INVALID='The access token is invalid, expired or revoked.'

# --- the route table, parsed --------------------------------------------------------------
# The body of `static const struct route routes[] = { … };` without comments,
# on one line; then one "METHOD<TAB>PATTERN<TAB>PERMISSION<TAB>FLAGS" line per
# entry ({ CV_METHOD_X, "pattern", handler, CV_PERM_Y, flags[, more] }).
[ -r "$ROUTE_C" ] || bail "cannot read $ROUTE_C"
awk '
	/static const struct route routes\[\] *= *\{/ { on = 1; next }
	on && /^\};/ { exit }
	on { print }
' "$ROUTE_C" | awk '
	{
		line = $0
		out = ""
		while (line != "") {
			if (incomment) {
				i = index(line, "*/")
				if (i == 0) { line = ""; break }
				line = substr(line, i + 2)
				incomment = 0
			} else {
				i = index(line, "/*")
				if (i == 0) { out = out line; line = "" }
				else { out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1 }
			}
		}
		printf "%s ", out
	}
' >"$T_TMP/routes.flat"
S='[[:space:]]*'
grep -oE "\\{${S}CV_METHOD_[A-Z]+${S},${S}\"[^\"]*\"${S},${S}[A-Za-z_0-9]+${S},${S}[A-Z_0-9| ]*[A-Z_0-9]${S},${S}[A-Z_0-9| ]*[A-Z_0-9]${S}[,}]" \
	"$T_TMP/routes.flat" |
	sed -E "s/^\\{${S}CV_METHOD_([A-Z]+)${S},${S}\"([^\"]*)\"${S},${S}[A-Za-z_0-9]+${S},${S}([A-Z_0-9| ]*[A-Z_0-9])${S},${S}([A-Z_0-9| ]*[A-Z_0-9])${S}[,}]\$/\\1\t\\2\t\\3\t\\4/" \
	>"$T_TMP/routes.tsv"
N_ENTRIES=$(grep -o 'CV_METHOD_' "$T_TMP/routes.flat" | wc -l)
N_ROUTES=$(wc -l <"$T_TMP/routes.tsv")
assert_true "route.c: routes[] found and parsed" test "$N_ROUTES" -gt 10
assert_eq "$N_ENTRIES" "$N_ROUTES" "route.c: every routes[] entry ($N_ENTRIES) was parsed"
if grep -qv $'^[A-Z]\+\t/[^\t]*\tCV_PERM_[A-Z_]\+\t[A-Z_0-9| ]\+$' "$T_TMP/routes.tsv"; then
	fail "route.c: every entry has the shape { CV_METHOD_X, \"/path\", handler, CV_PERM_Y, flags }" \
		"$(grep -v $'^[A-Z]\+\t/[^\t]*\tCV_PERM_[A-Z_]\+\t[A-Z_0-9| ]\+$' "$T_TMP/routes.tsv")"
else
	ok "route.c: every entry has the shape { CV_METHOD_X, \"/path\", handler, CV_PERM_Y, flags }"
fi
diag "$N_ROUTES routes in $ROUTE_C"

# The permission names of src/http_auth.c (perm_names[], in bit order) are
# the ones this test knows, in the same order.
C_PERMS=$(awk '/perm_names\[CV_PERM__COUNT\] *= *\{/ { on = 1; next } on && /\};/ { exit } on { print }' "$AUTH_C" |
	grep -o '"[a-z]*"' | tr -d '"' | paste -sd' ')
assert_eq "${KNOWN_PERMS[*]}" "$C_PERMS" "http_auth.c's permission names are the ones this test knows"

perm_known() {
	local p
	for p in "${KNOWN_PERMS[@]}"; do [ "$p" = "$1" ] && return 0; done
	return 1
}

# all_but PERM: the comma-separated list of every known permission but PERM.
all_but() {
	local p out=
	for p in "${KNOWN_PERMS[@]}"; do [ "$p" = "$1" ] || out+="${out:+,}$p"; done
	printf '%s' "$out"
}

# --- a vault of our own --------------------------------------------------------------------
V=perm-$(cv_random_hex 4)
VHOST=$V.vault.localhost
vault_cleanup() {
	t_psql "DELETE FROM vaults WHERE name = '$V'" >/dev/null
}
t_on_exit vault_cleanup
out=$(cv_admin vault create "$V" --host "$VHOST" 2>&1)
assert_eq "$V" "$out" "vault create $V --host $VHOST" || bail "no vault"
VAULT_ID=$(t_psql "SELECT id FROM vaults WHERE name = '$V'")
export KV_HOST=$VHOST

# new_token VAR ARG...: `certvault-admin token create --vault $V ARG...`; the
# token goes to VAR, its id to VAR_ID.
new_token() {
	local var=$1 tok err id
	shift
	tok=$(cv_admin token create --vault "$V" "$@" 2>"$T_TMP/admin.err") ||
		bail "token create $*: $(cat "$T_TMP/admin.err")"
	[[ $tok =~ ^cv_[0-9a-f]{64}$ ]] || bail "token create printed no token"
	err=$(cat "$T_TMP/admin.err")
	id=$(printf '%s\n' "$err" | sed -n 's/^token \([0-9][0-9]*\) created.*/\1/p')
	[ -n "$id" ] || bail "token create: no id in: $err"
	printf -v "$var" '%s' "$tok"
	printf -v "${var}_ID" '%s' "$id"
}
new_token ALL --name perm-all
export KV_TOKEN=$ALL

# --- fixtures (with the all-permissions token) ---------------------------------------------
CA=$T_TMP/ca
test_ca_make "$CA" || bail "certtool could not make the test CA"

# create NAME ISSUER [EXTRA_POLICY_JSON]: an EC P-256 certificate, exportable, PEM secret.
create() {
	local pol
	pol=$(jq -nc --arg n "$1" --arg i "$2" --argjson x "${3:-{\}}" '{
		key_props: {kty: "EC", crv: "P-256", exportable: true},
		secret_props: {contentType: "application/x-pem-file"},
		x509_props: {subject: ("CN=" + $n + ".example")}, issuer: {name: $i}} * $x')
	KV_TOKEN=$ALL kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":$pol}"
	[ "$KV_STATUS" = 202 ] || bail "fixture: create $1 ($2): $KV_STATUS $KV_BODY"
}
softdelete() {
	KV_TOKEN=$ALL kv_curl DELETE "/certificates/$1?api-version=$API"
	[ "$KV_STATUS" = 200 ] || bail "fixture: delete $1: $KV_STATUS $KV_BODY"
}

CERT=pc-cert
create "$CERT" Self
KV_TOKEN=$ALL kv_curl GET "/certificates/$CERT/?api-version=$API"
VER=$(printf '%s' "$KV_BODY" | jq -r .id)
VER=${VER##*/}
[[ $VER =~ ^[0-9a-f]{32}$ ]] || bail "fixture: no version of $CERT: $KV_BODY"
PEND=pc-pend
create "$PEND" Unknown
# A chain for a merge: the CSR of an Unknown operation signed by the test CA.
PEND_MERGE=pc-merge
create "$PEND_MERGE" Unknown
KV_TOKEN=$ALL kv_curl GET "/certificates/$PEND_MERGE/pending?api-version=$API"
test_ca_sign "$CA" "$(printf '%s' "$KV_BODY" | jq -r .csr)" "$T_TMP/merge" ||
	bail "fixture: cannot sign the CSR of $PEND_MERGE"
MERGE_BODY=$(jq -nc --arg l "$(base64 -w0 "$T_TMP/merge.der")" --arg c "$(base64 -w0 "$CA/ca.der")" '{x5c: [$l, $c]}')
# An import: an EC key and a certificate made with certtool, as PEM text.
printf '%s\n' 'cn = "perm-import.example"' 'expiration_days = 30' tls_www_server signing_key >"$T_TMP/imp.tmpl"
if ! certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$T_TMP/imp.key" >/dev/null 2>&1 ||
	! certtool --generate-certificate --load-privkey "$T_TMP/imp.key" --load-ca-certificate "$CA/ca.pem" \
		--load-ca-privkey "$CA/ca.key" --template "$T_TMP/imp.tmpl" --outfile "$T_TMP/imp.pem" >/dev/null 2>&1; then
	bail "fixture: certtool could not make the certificate to import"
fi
IMPORT_BODY=$(cat "$T_TMP/imp.key" "$T_TMP/imp.pem" | jq -Rsc '{value: .}')
# A backup blob of a certificate that is then removed, for restore.
RST=pc-restore
create "$RST" Self
KV_TOKEN=$ALL kv_curl POST "/certificates/$RST/backup?api-version=$API" --data-binary ""
[ "$KV_STATUS" = 200 ] || bail "fixture: backup $RST: $KV_STATUS $KV_BODY"
RESTORE_BODY=$(printf '%s' "$KV_BODY" | jq -c '{value: .value}')
t_psql "DELETE FROM certificates WHERE vault_id = $VAULT_ID AND name = '$RST'" >/dev/null
ISS=pc-iss
ISSUER_BODY='{"provider":"Test","credentials":{"account_id":"acct"},"attributes":{"enabled":true}}'
KV_TOKEN=$ALL kv_send PUT "/certificates/issuers/$ISS?api-version=$API" "$ISSUER_BODY"
[ "$KV_STATUS" = 200 ] || bail "fixture: PUT issuer $ISS: $KV_STATUS $KV_BODY"
CONTACTS_BODY='{"contacts":[{"email":"perm@example.org","name":"Perm"}]}'

# prepare KEY: before the positive request of route KEY, the state it needs
# (made with the all-permissions token), so that no route depends on the
# order of the table.
prepare() {
	case $1 in
	'DELETE /certificates/{name}') create pc-victim Self ;;
	'DELETE /certificates/{name}/pending') create pc-pdel Unknown ;;
	'GET /deletedcertificates/{name}') create pc-delget Self && softdelete pc-delget ;;
	'DELETE /deletedcertificates/{name}') create pc-purge Self && softdelete pc-purge ;;
	'POST /deletedcertificates/{name}/recover') create pc-recover Self && softdelete pc-recover ;;
	'DELETE /certificates/issuers/{issuer-name}')
		KV_TOKEN=$ALL kv_send PUT "/certificates/issuers/pc-iss-del?api-version=$API" "$ISSUER_BODY" ;;
	'GET /certificates/contacts' | 'DELETE /certificates/contacts')
		KV_TOKEN=$ALL kv_send PUT "/certificates/contacts?api-version=$API" "$CONTACTS_BODY" ;;
	esac
	return 0
}

# The routes this test knows: a realistic path (query added later), a body
# ("" for none) and the status of success with only the route's permission.
declare -A RPATH RBODY RSTATUS
known() { RPATH[$1]=$2; RBODY[$1]=$3; RSTATUS[$1]=$4; }
known 'GET /healthz' /healthz '' 200
known 'GET /.well-known/acme-challenge/{token}' "/.well-known/acme-challenge/perm-$(cv_random_hex 8)" '' 404
known 'GET /certificates' /certificates '' 200
known 'GET /certificates/issuers' /certificates/issuers '' 200
known 'GET /certificates/issuers/{issuer-name}' "/certificates/issuers/$ISS" '' 200
known 'PUT /certificates/issuers/{issuer-name}' /certificates/issuers/pc-iss-new "$ISSUER_BODY" 200
known 'PATCH /certificates/issuers/{issuer-name}' "/certificates/issuers/$ISS" '{"attributes":{"enabled":true}}' 200
known 'DELETE /certificates/issuers/{issuer-name}' /certificates/issuers/pc-iss-del '' 200
known 'GET /certificates/contacts' /certificates/contacts '' 200
known 'PUT /certificates/contacts' /certificates/contacts "$CONTACTS_BODY" 200
known 'DELETE /certificates/contacts' /certificates/contacts '' 200
known 'POST /certificates/restore' /certificates/restore "$RESTORE_BODY" 200
known 'GET /deletedcertificates' /deletedcertificates '' 200
known 'GET /deletedcertificates/{name}' /deletedcertificates/pc-delget '' 200
known 'DELETE /deletedcertificates/{name}' /deletedcertificates/pc-purge '' 204
known 'POST /deletedcertificates/{name}/recover' /deletedcertificates/pc-recover/recover '-' 200
known 'POST /certificates/{name}/create' /certificates/pc-new/create \
	'{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=pc-new.example"},"issuer":{"name":"Self"}}}' 202
known 'POST /certificates/{name}/import' /certificates/pc-import/import "$IMPORT_BODY" 200
known 'POST /certificates/{name}/backup' "/certificates/$CERT/backup" '-' 200
known 'GET /certificates/{name}/pending' "/certificates/$PEND/pending" '' 200
known 'PATCH /certificates/{name}/pending' "/certificates/$PEND/pending" '{"cancellation_requested":true}' 200
known 'DELETE /certificates/{name}/pending' /certificates/pc-pdel/pending '' 200
known 'POST /certificates/{name}/pending/merge' "/certificates/$PEND_MERGE/pending/merge" "$MERGE_BODY" 201
known 'GET /certificates/{name}/versions' "/certificates/$CERT/versions" '' 200
known 'GET /certificates/{name}/policy' "/certificates/$CERT/policy" '' 200
known 'PATCH /certificates/{name}/policy' "/certificates/$CERT/policy" '{"x509_props":{"subject":"CN=pc-cert.example","validity_months":12}}' 200
known 'DELETE /certificates/{name}' /certificates/pc-victim '' 200
known 'GET /certificates/{name}/{version?}' "/certificates/$CERT/$VER" '' 200
known 'PATCH /certificates/{name}/{version?}' "/certificates/$CERT/$VER" '{"tags":{"perm":"yes"}}' 200
known 'GET /secrets/{name}/{version?}' "/secrets/$CERT/$VER" '' 200
known 'GET /keys/{name}/{version?}' "/keys/$CERT/$VER" '' 200

# generic_path PATTERN: the pattern with every capture replaced by a value
# of the fixtures (a route this test does not know yet).
generic_path() {
	printf '%s' "$1" | sed -e "s/{name}/$CERT/g" -e "s/{version?}/$VER/g" -e "s/{version}/$VER/g" \
		-e "s/{issuer-name}/$ISS/g" -e 's/{token}/perm-dummy/g' -e 's/{[^}]*}/perm-dummy/g'
}

# send KEY METHOD PATH: the request of route KEY (its body, if any; "-" is
# an empty body, as the SDKs send on POST without parameters).
send() {
	local key=$1 method=$2 path=$3 body q
	q='?'
	[[ $path == *\?* ]] && q='&'
	if [ -n "${RBODY[$key]+x}" ]; then
		body=${RBODY[$key]}
	else
		case $method in POST | PUT | PATCH) body='{}' ;; *) body= ;; esac
	fi
	if [ "$body" = - ]; then
		kv_curl "$method" "$path${q}api-version=$API" --data-binary ""
	elif [ -n "$body" ]; then
		kv_send "$method" "$path${q}api-version=$API" "$body"
	else
		kv_curl "$method" "$path${q}api-version=$API"
	fi
}

# A fingerprint of everything a request could change in the vault.
state_of_vault() {
	t_psql "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
		SELECT 'c ' || c.name || ' ' || coalesce(c.deleted_at::text, '-') || ' ' || md5(c.policy::text) || ' ' || c.updated_at AS x FROM certificates c WHERE c.vault_id = $VAULT_ID
		UNION ALL SELECT 'v ' || v.version || ' ' || v.enabled || ' ' || md5(coalesce(v.tags::text, '')) || ' ' || md5(coalesce(v.certificate_der, ''::bytea)::text) || ' ' || v.updated_at
			FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE c.vault_id = $VAULT_ID
		UNION ALL SELECT 'o ' || o.id || ' ' || o.status || ' ' || o.cancellation_requested || ' ' || o.updated_at
			FROM pending_operations o JOIN certificates c ON c.id = o.certificate_id WHERE c.vault_id = $VAULT_ID
		UNION ALL SELECT 'i ' || i.name || ' ' || i.provider || ' ' || i.enabled || ' ' || i.updated_at FROM issuers i WHERE i.vault_id = $VAULT_ID
		UNION ALL SELECT 'k ' || k.id || ' ' || coalesce(k.email, '') FROM contacts k WHERE k.vault_id = $VAULT_ID) s"
}

# --- the routes ---------------------------------------------------------------------------
declare -A TOK_BUT TOK_ONLY
t=
ROUTE_KEYS=()
ROUTE_PERMS=()
PROTECTED=()
UNKNOWN_ROUTES=0
while IFS=$'\t' read -r method pattern perm flags; do
	key="$method $pattern"
	ROUTE_KEYS+=("$key")
	if [[ $flags == *ROUTE_PUBLIC* ]]; then
		ROUTE_PERMS+=("-")
		continue
	fi
	p=${perm#CV_PERM_}
	p=${p,,}
	if ! perm_known "$p"; then
		fail "$key: permission $perm is unknown to this test"
		ROUTE_PERMS+=("?")
		continue
	fi
	ROUTE_PERMS+=("$p")
	PROTECTED+=("${#ROUTE_KEYS[@]}")
	[ -n "${RPATH[$key]+x}" ] || UNKNOWN_ROUTES=$((UNKNOWN_ROUTES + 1))
done <"$T_TMP/routes.tsv"
USED_PERMS=$(printf '%s\n' "${ROUTE_PERMS[@]}" | grep -v '^[-?]$' | sort -u | paste -sd' ')
diag "permissions the routes need: $USED_PERMS"
for p in "${KNOWN_PERMS[@]}"; do
	[[ " $USED_PERMS " == *" $p "* ]] || diag "no route needs permission $p (a token holding only $p can do nothing)"
done
for key in "${!RPATH[@]}"; do
	printf '%s\n' "${ROUTE_KEYS[@]}" | grep -qxF "$key" ||
		diag "the test knows '$key', which is no longer in the route table"
done

path_of() {
	if [ -n "${RPATH[$1]+x}" ]; then printf '%s' "${RPATH[$1]}"; else generic_path "${1#* }"; fi
}

# --- public routes: no token needed ---------------------------------------------------------
for i in "${!ROUTE_KEYS[@]}"; do
	[ "${ROUTE_PERMS[$i]}" = - ] || continue
	key=${ROUTE_KEYS[$i]}
	method=${key%% *}
	path=$(path_of "$key")
	KV_TOKEN='' kv_curl "$method" "$path"
	if [ -n "${RSTATUS[$key]+x}" ]; then
		assert_status "${RSTATUS[$key]}" "public $key without a token: ${RSTATUS[$key]}"
	else
		assert_match '^[1-5][0-9][0-9]$' "$KV_STATUS" "public $key without a token: answered ($KV_STATUS)"
		assert_ne 401 "$KV_STATUS" "public $key without a token: not 401"
	fi
	assert_eq "" "$(kv_header WWW-Authenticate)" "public $key: no challenge"
done

# --- a token lacking exactly the route's permission: 403 -----------------------------------
BEFORE=$(state_of_vault)
for i in "${PROTECTED[@]}"; do
	i=$((i - 1))
	key=${ROUTE_KEYS[$i]}
	p=${ROUTE_PERMS[$i]}
	method=${key%% *}
	if [ -z "${TOK_BUT[$p]:-}" ]; then
		new_token t --name "perm-all-but-$p" --permissions "$(all_but "$p")"
		TOK_BUT[$p]=$t
	fi
	KV_TOKEN=${TOK_BUT[$p]} send "$key" "$method" "$(path_of "$key")"
	assert_kv_error 403 Forbidden \
		"The access token does not have certificates $p permission on key vault '$V'." \
		"$key, every permission but $p"
	assert_eq "" "$(kv_header WWW-Authenticate)" "$key, every permission but $p: no challenge"
done
assert_eq "$BEFORE" "$(state_of_vault)" "none of the 403 requests changed the vault"

# --- a token without any permission: 403 everywhere -----------------------------------------
new_token NONE --name perm-none --permissions get
t_psql "UPDATE access_tokens SET permissions = '{}' WHERE id = $NONE_ID" >/dev/null
assert_eq "{}" "$(t_psql "SELECT permissions FROM access_tokens WHERE id = $NONE_ID")" \
	"the token's permissions were emptied in SQL"
for i in "${PROTECTED[@]}"; do
	i=$((i - 1))
	key=${ROUTE_KEYS[$i]}
	p=${ROUTE_PERMS[$i]}
	KV_TOKEN=$NONE send "$key" "${key%% *}" "$(path_of "$key")"
	assert_status 403 "$key, no permission at all: 403"
	assert_json -r .error.message \
		"The access token does not have certificates $p permission on key vault '$V'." \
		"$key, no permission at all: the message names $p"
done
assert_eq "$BEFORE" "$(state_of_vault)" "none of the 403 requests of the permission-less token changed the vault"

# --- a token holding only the route's permission: not 403 -----------------------------------
for i in "${PROTECTED[@]}"; do
	i=$((i - 1))
	key=${ROUTE_KEYS[$i]}
	p=${ROUTE_PERMS[$i]}
	if [ -z "${TOK_ONLY[$p]:-}" ]; then
		new_token t --name "perm-only-$p" --permissions "$p"
		TOK_ONLY[$p]=$t
	fi
	prepare "$key"
	KV_TOKEN=${TOK_ONLY[$p]} send "$key" "${key%% *}" "$(path_of "$key")"
	assert_ne 403 "$KV_STATUS" "$key, only $p: not 403 ($KV_STATUS)" ||
		diag "body: $KV_BODY"
	if [ -n "${RSTATUS[$key]+x}" ]; then
		assert_status "${RSTATUS[$key]}" "$key, only $p: ${RSTATUS[$key]} (the request did what it asks)"
	else
		diag "$key is not in this test's table: generic path $(path_of "$key"), status $KV_STATUS"
		assert_no_match '^(000|401|5[0-9][0-9])$' "$KV_STATUS" "$key, only $p: neither 401 nor 5xx"
	fi
done
if [ "$UNKNOWN_ROUTES" -gt 0 ]; then
	diag "$UNKNOWN_ROUTES route(s) were covered with generic paths: add them to the table of this test"
fi

# --- expired and revoked tokens: 401 on the very next request ------------------------------
# Every FastCGI worker serves a few requests with the token first, so that
# no worker could answer from anything it remembered.
WORKERS=$(sed -n 's/^workers *= *//p' "$CERTVAULT_CONFIG" 2>/dev/null)
WARM=$((2 * ${WORKERS:-4} + 2))

# warm TOKEN LABEL: WARM requests that the token may make.
warm() {
	local i okc=0
	for ((i = 0; i < WARM; i++)); do
		KV_TOKEN=$1 kv_curl GET "/certificates?api-version=$API"
		[ "$KV_STATUS" = 200 ] && okc=$((okc + 1))
	done
	assert_eq "$WARM" "$okc" "$2: $WARM requests answered 200 before"
}

# all_401 TOKEN LABEL: every protected route answers 401 with the challenge.
all_401() {
	local i key bad=() chal
	chal=$(kv_challenge "$VHOST:$CERTVAULT_HTTPS_PORT" "$V")
	for i in "${PROTECTED[@]}"; do
		i=$((i - 1))
		key=${ROUTE_KEYS[$i]}
		KV_TOKEN=$1 send "$key" "${key%% *}" "$(path_of "$key")"
		if [ "$KV_STATUS" != 401 ] || [ "$(printf '%s' "$KV_BODY" | jq -r .error.message 2>/dev/null)" != "$INVALID" ] ||
			[ "$(kv_header WWW-Authenticate)" != "$chal" ]; then
			bad+=("$key: $KV_STATUS $KV_BODY")
		fi
	done
	if [ "${#bad[@]}" -eq 0 ]; then
		ok "$2: every one of the ${#PROTECTED[@]} protected routes answers 401 \"$INVALID\" with the challenge"
	else
		fail "$2: every protected route answers 401 with the challenge" "${bad[@]}"
	fi
}

new_token EXP --name perm-expire --expires-days 1
warm "$EXP" "token expiring tomorrow"
t_psql "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $EXP_ID" >/dev/null
KV_TOKEN=$EXP kv_curl GET "/certificates?api-version=$API"
assert_kv_error 401 Unauthorized "$INVALID" "expired token: the very next request"
all_401 "$EXP" "expired token"

new_token REV --name perm-revoke
warm "$REV" "token before revocation"
out=$(cv_admin token revoke "$REV_ID" 2>&1)
assert_eq "revoked token $REV_ID" "$out" "token revoke $REV_ID"
KV_TOKEN=$REV kv_curl GET "/certificates?api-version=$API"
assert_kv_error 401 Unauthorized "$INVALID" "revoked token: the very next request"
all_401 "$REV" "revoked token"

# The same tokens on the public routes: still answered (they need none).
for i in "${!ROUTE_KEYS[@]}"; do
	[ "${ROUTE_PERMS[$i]}" = - ] || continue
	key=${ROUTE_KEYS[$i]}
	KV_TOKEN=$REV kv_curl "${key%% *}" "$(path_of "$key")"
	assert_ne 401 "$KV_STATUS" "public $key with a revoked token: not 401 ($KV_STATUS)"
done

t_done

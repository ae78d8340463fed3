#!/usr/bin/env bash
# Soft-delete through lighttpd: DELETE /certificates/{name} answers the
# DeletedCertificateBundle (recoveryId, deletedDate, scheduledPurgeDate =
# deletedDate + 90 days); the name then 404s as a certificate, is listed
# and readable under /deletedcertificates (paged), and cannot be reused by
# create (409) until it is recovered (the same certificate back) or purged
# (204, then gone, and the name is free). A certificate with only a
# pending version can be deleted too. Purge protection on a vault: the
# recoveryLevel drops +Purgeable and purge is 403. Permissions: delete,
# recover and purge need their own. certvault-worker --once purges what
# is past its scheduledPurgeDate.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
WORKER_BIN=$CERTVAULT_BUILD_DIR/src/certvault-worker
POLICY_SELF='{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=deleted.example"},"issuer":{"name":"Self"}}'
POLICY_UNKNOWN='{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=deleted.example"},"issuer":{"name":"Unknown"}}'
RETENTION=$((90 * 86400))

# create NAME [POLICY]: create a certificate (Self unless told otherwise).
create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":${2:-$POLICY_SELF},\"tags\":{\"t\":\"deleted\"}}"
}

# jqr FILTER: raw jq output of the last body.
jqr() { printf '%s' "$KV_BODY" | jq -r "$1"; }

# deleted_ids PATH: every id of a deleted list, following nextLink, in IDS
# (space-separated); LOST_FLAG is set if a nextLink drops includePending.
deleted_ids() {
	local url=$1 next
	IDS=
	LOST_FLAG=
	while [ -n "$url" ]; do
		kv_curl GET "$url"
		IDS+=" $(jqr '[.value[]?.id] | join(" ")')"
		next=$(jqr '.nextLink // empty')
		if [ -n "$next" ] && [[ $1 == *includePending=true* ]] && [[ $next != *includePending=true* ]]; then
			LOST_FLAG=1
		fi
		url=${next#"$BASE"}
	done
}

# row_count NAME: certificates rows of that name (any vault, live or deleted).
row_count() { t_psql "SELECT count(*) FROM certificates WHERE lower(name) = lower('$1')"; }

# --- delete ----------------------------------------------------------------------
cert_new_name D del
create "$D"
assert_status 202 "create $D: 202"
kv_curl GET "/certificates/$D?api-version=$API"
assert_status 200 "GET before delete: 200"
VID=$(jqr .id)
CER=$(jqr .cer)
X5T=$(jqr .x5t)

t0=$(date +%s)
kv_curl DELETE "/certificates/$D?api-version=$API"
t1=$(date +%s)
assert_status 200 "DELETE /certificates/{name}: 200"
assert_json_type "delete: Content-Type application/json"
assert_json -r .id "$VID" "delete: id is the latest version's"
assert_json -r .recoveryId "$BASE/deletedcertificates/$D" "delete: recoveryId"
assert_json -r .cer "$CER" "delete: cer of the latest version"
assert_json -r .x5t "$X5T" "delete: x5t"
assert_json -r .kid "$BASE/keys/$D/${VID##*/}" "delete: kid"
assert_json '.deletedDate | type' '"number"' "delete: deletedDate is a number"
DEL=$(jqr .deletedDate)
PURGE=$(jqr .scheduledPurgeDate)
# (Times are rounded to the second, as every Key Vault timestamp here.)
assert_true "delete: deletedDate is now ($t0 <= $DEL <= $t1 + 1)" test "$DEL" -ge "$t0" -a "$DEL" -le "$((t1 + 1))"
assert_eq "$RETENTION" "$((PURGE - DEL))" "delete: scheduledPurgeDate - deletedDate = 90 * 86400"
assert_json .attributes.recoveryLevel '"Recoverable+Purgeable"' "delete: recoveryLevel Recoverable+Purgeable"
assert_json .attributes.recoverableDays 90 "delete: recoverableDays 90"
assert_json .tags '{"t":"deleted"}' "delete: tags"
assert_json -r .policy.id "$BASE/certificates/$D/policy" "delete: the policy"
assert_eq 1 "$(t_psql "SELECT count(*) FROM certificates WHERE name = '$D' AND recovery_id ~ '^[0-9a-f]{32}\$'
	AND scheduled_purge_at - deleted_at = interval '90 days'")" "the row is soft-deleted with a recovery_id"

kv_curl GET "/certificates/$D?api-version=$API"
assert_kv_error 404 CertificateNotFound "Certificate not found: $D" "GET a deleted certificate"
kv_curl GET "/certificates/$D/${VID##*/}?api-version=$API"
assert_status 404 "GET a deleted certificate's version: 404"
kv_curl DELETE "/certificates/$D?api-version=$API"
assert_kv_error 404 CertificateNotFound "Certificate not found: $D" "DELETE it again"
kv_curl DELETE "/certificates/nosuch-$(cv_random_hex 4)?api-version=$API"
assert_kv_error 404 CertificateNotFound "" "DELETE an unknown certificate"
kv_curl GET "/certificates/$D/pending?api-version=$API"
assert_status 404 "GET the pending operation of a deleted certificate: 404"

# --- get deleted ---------------------------------------------------------------------
kv_curl GET "/deletedcertificates/$D?api-version=$API"
assert_status 200 "GET /deletedcertificates/{name}: 200"
assert_json -r .id "$VID" "get deleted: id"
assert_json -r .recoveryId "$BASE/deletedcertificates/$D" "get deleted: recoveryId"
assert_json .deletedDate "$DEL" "get deleted: the same deletedDate"
assert_json .scheduledPurgeDate "$PURGE" "get deleted: the same scheduledPurgeDate"
assert_json -r .cer "$CER" "get deleted: cer"
kv_curl GET "/deletedcertificates/$(printf '%s' "$D" | tr '[:lower:]' '[:upper:]')?api-version=$API"
assert_status 200 "get deleted: names compare case-insensitively"
assert_json -r .recoveryId "$BASE/deletedcertificates/$D" "… and the ids keep the stored case"
kv_curl GET "/deletedcertificates/nosuch-$(cv_random_hex 4)?api-version=$API"
assert_kv_error 404 CertificateNotFound "" "GET an unknown deleted certificate"

# --- the name is taken while deleted -----------------------------------------------
create "$D"
assert_kv_error 409 Conflict "Certificate $D is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged." \
	"create over a deleted name" ObjectIsDeletedButRecoverable
assert_eq 1 "$(t_psql "SELECT count(*) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE c.name = '$D'")" \
	"the refused create added no version"

# --- list deleted, paged -------------------------------------------------------------
cert_new_name E del
cert_new_name F del
for n in "$E" "$F"; do
	create "$n"
	kv_curl DELETE "/certificates/$n?api-version=$API"
	assert_status 200 "delete $n: 200"
done
kv_curl GET "/deletedcertificates?api-version=$API"
assert_status 200 "GET /deletedcertificates: 200"
assert_json '.value | type' '"array"' "list deleted: value is an array"
item=$(printf '%s' "$KV_BODY" | jq -c --arg id "$BASE/certificates/$D" '.value[] | select(.id == $id)')
assert_ne "" "$item" "list deleted: $D is listed by its base id"
assert_json -r .recoveryId "$BASE/deletedcertificates/$D" "list item: recoveryId" "$item"
assert_json .deletedDate "$DEL" "list item: deletedDate" "$item"
assert_json .scheduledPurgeDate "$PURGE" "list item: scheduledPurgeDate" "$item"
assert_json -r .x5t "$X5T" "list item: x5t" "$item"
assert_json .tags '{"t":"deleted"}' "list item: tags" "$item"
assert_json '.attributes | [.enabled, .recoveryLevel, .recoverableDays]' '[true,"Recoverable+Purgeable",90]' \
	"list item: attributes" "$item"
assert_json 'has("cer") or has("policy")' false "list item: no cer, no policy" "$item"

# maxresults=1: follow nextLink to the end; every page holds one item at most.
seen=()
url="/deletedcertificates?api-version=$API&maxresults=1"
pages=0
bad_page=
while [ -n "$url" ] && [ "$pages" -lt 200 ]; do
	kv_curl GET "$url"
	[ "$KV_STATUS" = 200 ] || { bad_page="status $KV_STATUS at $url"; break; }
	[ "$(jqr '.value | length')" -le 1 ] || bad_page="more than one item at $url"
	while IFS= read -r id; do [ -n "$id" ] && seen+=("${id##*/}"); done < <(jqr '.value[]?.id')
	next=$(jqr '.nextLink // empty')
	if [ -n "$next" ]; then
		case $next in
		"$BASE/deletedcertificates?"*) url=${next#"$BASE"} ;;
		*) bad_page="nextLink not absolute on $BASE: $next"; break ;;
		esac
	else
		url=
	fi
	pages=$((pages + 1))
done
assert_eq "" "$bad_page" "paging with maxresults=1: every page 200 with at most one item"
for n in "$D" "$E" "$F"; do
	assert_match " $n " " ${seen[*]} " "paging reaches $n"
done
assert_eq "$(printf '%s\n' "${seen[@]}" | LC_ALL=C sort -f)" "$(printf '%s\n' "${seen[@]}")" \
	"pages come in name order"
assert_eq "${#seen[@]}" "$(printf '%s\n' "${seen[@]}" | sort -u | grep -c .)" "no name on two pages"
kv_curl GET "/deletedcertificates?api-version=$API&maxresults=0"
assert_kv_error 400 BadParameter "" "list deleted: maxresults=0"
kv_curl GET "/deletedcertificates?api-version=$API&maxresults=26"
assert_kv_error 400 BadParameter "" "list deleted: maxresults=26"
kv_curl GET "/deletedcertificates?api-version=$API&includePending=maybe"
assert_kv_error 400 BadParameter "" "list deleted: includePending=maybe"
kv_curl GET "/deletedcertificates?api-version=$API&\$skiptoken=bad%20token"
assert_kv_error 400 BadParameter "" "list deleted: a bad \$skiptoken"

# --- recover -----------------------------------------------------------------------------
kv_curl POST "/deletedcertificates/$D/recover?api-version=$API" --data-binary ""
assert_status 200 "POST recover: 200"
assert_json -r .id "$VID" "recover: the latest version's bundle"
assert_json -r .cer "$CER" "recover: the same cer"
assert_json 'has("recoveryId") or has("deletedDate")' false "recover: a CertificateBundle, not a deleted one"
kv_curl GET "/certificates/$D?api-version=$API"
assert_status 200 "GET after recover: 200"
assert_json -r .id "$VID" "GET after recover: the same version"
assert_json .tags '{"t":"deleted"}' "GET after recover: its tags"
kv_curl GET "/deletedcertificates/$D?api-version=$API"
assert_kv_error 404 CertificateNotFound "Deleted Certificate not found: $D" "GET deleted after recover"
kv_curl POST "/deletedcertificates/$D/recover?api-version=$API" --data-binary ""
assert_kv_error 404 CertificateNotFound "Deleted Certificate not found: $D" "recover a live certificate"
kv_curl DELETE "/deletedcertificates/$D?api-version=$API"
assert_kv_error 404 CertificateNotFound "Deleted Certificate not found: $D" "purge a live certificate"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates WHERE name = '$D' AND (deleted_at IS NOT NULL
	OR scheduled_purge_at IS NOT NULL OR recovery_id IS NOT NULL)")" "recover cleared the soft-delete columns"

# --- delete again, purge ---------------------------------------------------------------
kv_curl DELETE "/certificates/$D?api-version=$API"
assert_status 200 "delete after recover: 200"
kv_curl DELETE "/deletedcertificates/$D?api-version=$API"
assert_status 204 "purge: 204"
assert_eq "" "$KV_BODY" "purge: no body"
# certvault writes Content-Length: 0; lighttpd drops it from a 204 (RFC 9110,
# section 8.6: no Content-Length in a 204).
assert_match '^0?$' "$(kv_header Content-Length)" "purge: no Content-Length, or 0"
assert_eq "" "$(kv_header Content-Type)" "purge: no Content-Type"
kv_curl GET "/deletedcertificates/$D?api-version=$API"
assert_kv_error 404 CertificateNotFound "Deleted Certificate not found: $D" "GET deleted after purge"
kv_curl DELETE "/deletedcertificates/$D?api-version=$API"
assert_kv_error 404 CertificateNotFound "Deleted Certificate not found: $D" "purge again"
kv_curl POST "/deletedcertificates/$D/recover?api-version=$API" --data-binary ""
assert_status 404 "recover after purge: 404"
assert_eq 0 "$(row_count "$D")" "purge removed the row (versions and keys by cascade)"
assert_eq 0 "$(t_psql "SELECT count(*) FROM keys k LEFT JOIN certificates c ON c.id = k.certificate_id WHERE c.id IS NULL")" \
	"no key is left without its certificate"
create "$D"
assert_status 202 "create after purge: 202, the name is free"
kv_curl GET "/certificates/$D?api-version=$API"
assert_ne "$VID" "$(jqr .id)" "… and a new version"

# --- a certificate with only a pending version ----------------------------------------
cert_new_name P delpending
create "$P" "$POLICY_UNKNOWN"
assert_status 202 "create Unknown: 202"
kv_curl DELETE "/certificates/$P?api-version=$API"
assert_status 200 "delete while only a pending version exists: 200"
assert_json '[has("cer"), has("x5t"), has("kid")]' '[false,false,false]' "delete pending: no cer, x5t, kid"
assert_json .attributes.enabled false "delete pending: disabled"
assert_json -r .recoveryId "$BASE/deletedcertificates/$P" "delete pending: recoveryId"
assert_eq 0 "$(t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name = '$P'")" \
	"delete removed the pending operation"
deleted_ids "/deletedcertificates?api-version=$API"
assert_no_match "/certificates/$P( |\$)" "$IDS" "list deleted leaves out a pending-only certificate"
deleted_ids "/deletedcertificates?api-version=$API&includePending=true&maxresults=2"
assert_match "/certificates/$P( |\$)" "$IDS" "… and lists it with includePending=true"
assert_eq "" "$LOST_FLAG" "includePending=true stays in every nextLink"
kv_curl POST "/deletedcertificates/$P/recover?api-version=$API" --data-binary ""
assert_status 200 "recover the pending-only certificate: 200"
assert_json .attributes.enabled false "… its pending version"

# --- permissions -----------------------------------------------------------------------
tok=$(cv_admin token create --vault "$CERTVAULT_VAULT_NAME" --name t_deleted-ro --permissions get,list 2>/dev/null) ||
	bail "token create --permissions get,list"
cert_new_name G del
create "$G"
KV_TOKEN=$tok kv_curl DELETE "/certificates/$G?api-version=$API"
assert_kv_error 403 Forbidden "" "DELETE without the delete permission"
KV_TOKEN=$tok kv_curl POST "/deletedcertificates/$E/recover?api-version=$API" --data-binary ""
assert_kv_error 403 Forbidden "" "recover without the recover permission"
KV_TOKEN=$tok kv_curl DELETE "/deletedcertificates/$E?api-version=$API"
assert_kv_error 403 Forbidden "" "purge without the purge permission"
KV_TOKEN=$tok kv_curl GET "/deletedcertificates/$E?api-version=$API"
assert_status 200 "GET deleted with get: 200"
KV_TOKEN=$tok kv_curl GET "/deletedcertificates?api-version=$API&maxresults=1"
assert_status 200 "list deleted with list: 200"
unset tok

# --- purge protection, in a vault of its own --------------------------------------------
V2=t-deleted-$(cv_random_hex 4)
V2_HOST=$V2.vault.localhost
t_on_exit "t_psql \"DELETE FROM vaults WHERE name = '$V2'\" >/dev/null 2>&1"
cv_admin vault create "$V2" --host "$V2_HOST" >/dev/null 2>&1 || bail "vault create $V2"
t_psql "UPDATE vaults SET purge_protection = true, retention_days = 7 WHERE name = '$V2'" >/dev/null
tok2=$(cv_admin token create --vault "$V2" --name t_deleted 2>/dev/null) || bail "token create --vault $V2"
cert_new_name R protected
KV_TOKEN=$tok2 KV_HOST=$V2_HOST kv_send POST "/certificates/$R/create?api-version=$API" "{\"policy\":$POLICY_SELF}"
assert_status 202 "vault with purge protection: create 202"
KV_TOKEN=$tok2 KV_HOST=$V2_HOST kv_curl DELETE "/certificates/$R?api-version=$API"
assert_status 200 "purge protection: delete 200"
assert_json .attributes.recoveryLevel '"CustomizedRecoverable"' "purge protection, 7 days: recoveryLevel without +Purgeable"
assert_json .attributes.recoverableDays 7 "… recoverableDays 7"
assert_eq $((7 * 86400)) "$(($(jqr .scheduledPurgeDate) - $(jqr .deletedDate)))" "… scheduledPurgeDate 7 days on"
assert_json -r .recoveryId "https://$V2_HOST:$CERTVAULT_HTTPS_PORT/deletedcertificates/$R" "… recoveryId on that vault's host"
kv_curl GET "/deletedcertificates/$R?api-version=$API"
assert_status 404 "the other vault does not see it"
KV_TOKEN=$tok2 KV_HOST=$V2_HOST kv_curl DELETE "/deletedcertificates/$R?api-version=$API"
assert_kv_error 403 Forbidden "" "purge under purge protection"
assert_match 'purge protection' "$(jqr .error.message)" "… the message says why"
assert_eq 1 "$(row_count "$R")" "… and the certificate stays"
KV_TOKEN=$tok2 KV_HOST=$V2_HOST kv_curl POST "/deletedcertificates/$R/recover?api-version=$API" --data-binary ""
assert_status 200 "purge protection: recover still works"
unset tok2

# --- the worker purges what is past its date ------------------------------------------
cert_new_name W delworker
create "$W"
kv_curl DELETE "/certificates/$W?api-version=$API"
assert_status 200 "delete $W: 200"
t_psql "UPDATE certificates SET deleted_at = now() - interval '2 days', scheduled_purge_at = now() - interval '1 second'
	WHERE name = '$W'" >/dev/null
if out=$(timeout 30 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once 2>&1); then rc=0; else rc=$?; fi
assert_eq 0 "$rc" "certvault-worker --once: exit 0"
assert_eq 0 "$(row_count "$W")" "the worker purged the certificate whose date has passed"
assert_eq 0 "$(t_psql "SELECT count(*) FROM keys k LEFT JOIN certificates c ON c.id = k.certificate_id WHERE c.id IS NULL")" \
	"… with its keys"
kv_curl GET "/deletedcertificates/$W?api-version=$API"
assert_status 404 "GET deleted after the worker's purge: 404"
assert_eq 1 "$(row_count "$E")" "the worker kept a deleted certificate whose date is ahead"
diag "worker: $out"

t_done

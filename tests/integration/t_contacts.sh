#!/usr/bin/env bash
# The vault's certificate contacts through lighttpd: 404 ContactsNotFound
# while none are set (GET and DELETE), PUT replaces the whole list (order
# kept, answered as {"id":"{base}/certificates/contacts","contacts":[…]}),
# GET reads it, DELETE answers the list it removed; bad bodies and emails
# are 400 and change nothing; the managecontacts permission; concurrent
# PUTs leave exactly one of the lists (the vault's row lock). The list the
# vault had before the test is put back at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
P="/certificates/contacts?api-version=$API"
VAULT_ID=$(t_psql "SELECT id FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME'")
NOT_FOUND="Contacts not found"

jqr() { printf '%s' "$KV_BODY" | jq -r "$1"; }
rows() { t_psql "SELECT count(*) FROM contacts WHERE vault_id = $VAULT_ID"; }

# Keep what the vault had, and put it back when the test ends.
kv_curl GET "$P"
SAVED=
[ "$KV_STATUS" = 200 ] && SAVED=$(jqr '{contacts}' | jq -c .)
# shellcheck disable=SC2317 # run by the EXIT trap
contacts_restore() {
	if [ -n "$SAVED" ]; then
		kv_send PUT "$P" "$SAVED"
	else
		t_psql "DELETE FROM contacts WHERE vault_id = $VAULT_ID" >/dev/null
	fi
	if [ -n "${TOK_ID:-}" ]; then
		t_psql "DELETE FROM access_tokens WHERE id = $TOK_ID" >/dev/null
	fi
}
t_on_exit contacts_restore
t_psql "DELETE FROM contacts WHERE vault_id = $VAULT_ID" >/dev/null

# --- none set --------------------------------------------------------------------
kv_curl GET "$P"
assert_kv_error 404 ContactsNotFound "$NOT_FOUND" "GET without contacts"
kv_curl DELETE "$P"
assert_kv_error 404 ContactsNotFound "$NOT_FOUND" "DELETE without contacts"

# --- PUT, GET ---------------------------------------------------------------------
THREE='{"contacts":[{"email":"ops@example.org","name":"Ops","phone":"+1 555 0100"},{"name":"Night shift"},{"email":"pki@example.org"}]}'
kv_send PUT "$P" "$THREE"
assert_status 200 "PUT three contacts: 200"
assert_json_type "PUT: Content-Type application/json"
assert_json . "{\"id\":\"$BASE/certificates/contacts\",\"contacts\":[{\"email\":\"ops@example.org\",\"name\":\"Ops\",\"phone\":\"+1 555 0100\"},{\"name\":\"Night shift\"},{\"email\":\"pki@example.org\"}]}" \
	"PUT: exactly {id, contacts} in the order given, members as given"
assert_eq "0:ops@example.org 1:Night shift 2:pki@example.org" \
	"$(t_psql "SELECT string_agg(sort_order || ':' || coalesce(email, name), ' ' ORDER BY sort_order) FROM contacts WHERE vault_id = $VAULT_ID")" \
	"PUT: rows with sort_order 0, 1, 2"
PUT_BODY=$KV_BODY
kv_curl GET "$P"
assert_status 200 "GET: 200"
assert_json . "$(printf '%s' "$PUT_BODY" | jq -c .)" "GET answers the list PUT set"

# --- PUT replaces ---------------------------------------------------------------
kv_send PUT "$P" '{"contacts":[{"email":"new@example.org","name":"","phone":null}],"id":"ignored"}'
assert_status 200 "PUT one contact: 200"
assert_json .contacts '[{"email":"new@example.org"}]' "PUT replaces the list (empty and null members left out)"
assert_eq 1 "$(rows)" "PUT: one row left"

# --- bad bodies change nothing -------------------------------------------------------
kv_send PUT "$P" '{"contacts":[{"email":"a@example.org"},{"email":"not an email"}]}'
assert_kv_error 400 BadParameter "contacts[1].email is not a valid email address." "PUT with a bad email"
kv_send PUT "$P" '{"contacts":[{"email":"a@b@c"}]}'
assert_kv_error 400 BadParameter "" "PUT with two @"
kv_send PUT "$P" '{"contacts":[]}'
assert_kv_error 400 BadParameter "" "PUT an empty list"
kv_send PUT "$P" '{}'
assert_kv_error 400 BadParameter "" "PUT without contacts"
kv_send PUT "$P" '{"contacts":[{"name":"x"},{}]}'
assert_kv_error 400 BadParameter "contacts[1] needs an email, a name or a phone." "PUT an empty contact"
kv_send PUT "$P" '{"contacts":[{"phone":5}]}'
assert_kv_error 400 BadParameter "contacts[0].phone must be a string." "PUT a number as phone"
kv_send PUT "$P" '{"contacts":'
assert_kv_error 400 BadParameter "" "PUT malformed JSON"
kv_curl PUT "$P"
assert_kv_error 400 BadParameter "" "PUT without a body"
kv_curl GET "$P"
assert_json .contacts '[{"email":"new@example.org"}]' "after the refused PUTs the list is unchanged"
kv_send POST "$P" "{}"
assert_status 405 "POST /certificates/contacts: 405"

# --- permissions -------------------------------------------------------------------
TOK=$(cv_admin token create --vault "$CERTVAULT_VAULT_NAME" --name t_contacts --permissions get,list 2>"$T_TMP/admin.err") ||
	bail "token create: $(cat "$T_TMP/admin.err")"
TOK_ID=$(sed -n 's/^token \([0-9][0-9]*\) created.*/\1/p' "$T_TMP/admin.err")
for m in GET PUT DELETE; do
	if [ "$m" = PUT ]; then KV_TOKEN=$TOK kv_send PUT "$P" "$THREE"; else KV_TOKEN=$TOK kv_curl "$m" "$P"; fi
	assert_kv_error 403 Forbidden "The access token does not have certificates managecontacts permission on key vault '$CERTVAULT_VAULT_NAME'." \
		"token without managecontacts: $m"
done
assert_eq 1 "$(rows)" "the refused requests changed nothing"

# --- concurrent PUTs ---------------------------------------------------------------
# Ten PUTs of three contacts each at once: every one answers 200 and the
# list that stays is exactly one of them, not a mix.
for i in 0 1 2 3 4 5 6 7 8 9; do
	(umask 077 && printf 'Authorization: Bearer %s\n' "$CERTVAULT_TOKEN" >"$T_TMP/auth.$i")
	(
		body="{\"contacts\":[{\"email\":\"a$i@example.org\"},{\"email\":\"b$i@example.org\"},{\"email\":\"c$i@example.org\"}]}"
		curl -sS --max-time 20 --cacert "$CERTVAULT_CA" \
			--resolve "$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT:127.0.0.1" \
			-H @"$T_TMP/auth.$i" -H 'Content-Type: application/json' -X PUT \
			--data-binary "$body" -o /dev/null -w '%{http_code}\n' \
			"https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT$P" >"$T_TMP/put.$i" 2>&1
	) &
done
wait
codes=$(cat "$T_TMP"/put.* | sort | uniq -c | sed 's/^ *//' | tr '\n' ' ')
rm -f "$T_TMP"/auth.*
assert_eq "10 200 " "$codes" "10 concurrent PUTs: all 200"
kv_curl GET "$P"
EMAILS=$(jqr '[.contacts[].email]' | jq -c .)
k=$(printf '%s' "$EMAILS" | sed -n 's/^\["a\([0-9]\)@.*/\1/p')
assert_eq "[\"a$k@example.org\",\"b$k@example.org\",\"c$k@example.org\"]" "$EMAILS" \
	"after concurrent PUTs: exactly one of the lists"
assert_eq "0 1 2" "$(t_psql "SELECT string_agg(sort_order::text, ' ' ORDER BY sort_order) FROM contacts WHERE vault_id = $VAULT_ID")" \
	"after concurrent PUTs: three rows, sort_order 0..2"

# --- DELETE --------------------------------------------------------------------------
kv_send PUT "$P" "$THREE"
assert_status 200 "PUT three contacts again"
kv_curl DELETE "$P"
assert_status 200 "DELETE: 200"
assert_json . "$(printf '%s' "$PUT_BODY" | jq -c .)" "DELETE answers the list it removed, in order"
assert_eq 0 "$(rows)" "DELETE: no rows left"
kv_curl GET "$P"
assert_kv_error 404 ContactsNotFound "$NOT_FOUND" "GET after DELETE"
kv_curl DELETE "$P"
assert_kv_error 404 ContactsNotFound "$NOT_FOUND" "DELETE again"

t_done

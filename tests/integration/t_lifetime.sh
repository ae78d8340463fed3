#!/usr/bin/env bash
# Lifetime actions (issue 5): a policy's AutoRenew and EmailContacts, run by
# `certvault-admin lifetime run --as-of TIME` (and `certvault-worker --once
# --as-of TIME`) so that nothing waits months, with a private copy of the
# stack's configuration whose sendmail_command is a script appending each
# message to a file.
#
# AutoRenew of a Self certificate at 80 % makes one new version (new key,
# new cer, new nbf), once; with reuse_key the key pair is kept; an operation
# in progress holds it back; issuer Unknown records "not possible"; an
# issuer object (LocalCA) gets a pending version and an autorenew operation.
# EmailContacts 30 days before expiry sends one message naming the
# certificate, once; no contacts is recorded; a failing sendmail is
# recorded and tried again after its back-off. Before the trigger nothing
# happens.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

API=7.5
DAY=86400
ADMIN=$CERTVAULT_BUILD_DIR/src/certvault-admin
WORKER=$CERTVAULT_BUILD_DIR/src/certvault-worker
MAIL=$T_TMP/mail.out

# The sendmail stand-ins: one keeps every message (and its arguments), one
# fails as an unreachable mail relay would.
cat >"$T_TMP/sendmail.sh" <<EOF
#!/bin/sh
{ echo "=== sendmail \$*"; cat; } >>"$MAIL"
EOF
printf '#!/bin/sh\ncat >/dev/null\necho "sendmail: cannot reach the relay" >&2\nexit 75\n' \
	>"$T_TMP/failmail.sh"
chmod +x "$T_TMP/sendmail.sh" "$T_TMP/failmail.sh"
(
	umask 077
	grep -v '^sendmail_command' "$CERTVAULT_CONFIG" >"$T_TMP/lt.conf"
	echo "sendmail_command = \"$T_TMP/sendmail.sh -t -i\"" >>"$T_TMP/lt.conf"
	grep -v '^sendmail_command' "$CERTVAULT_CONFIG" >"$T_TMP/fail.conf"
	echo "sendmail_command = $T_TMP/failmail.sh" >>"$T_TMP/fail.conf"
)

# lt_run [CONFIG] ARG...: certvault-admin lifetime run with that config
# (default: the good sendmail); sets LT_RC and LT_OUT (stdout).
lt_run() {
	local conf=$T_TMP/lt.conf
	if [ "${1:-}" = --config ]; then conf=$2; shift 2; fi
	LT_OUT=$("$ADMIN" --config "$conf" lifetime run "$@" 2>"$T_TMP/lt.err") && LT_RC=0 || LT_RC=$?
	[ "$LT_RC" -eq 0 ] || diag "lifetime run $*: exit $LT_RC: $(cat "$T_TMP/lt.err")"
	return 0
}

# iso SECONDS: the UTC time --as-of takes.
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# messages [NAME]: how many messages the sendmail stand-in got (about NAME).
messages() {
	if [ ! -f "$MAIL" ]; then echo 0; return 0; fi
	if [ -n "${1:-}" ]; then
		grep -c "^Subject: Certificate $1 in vault" "$MAIL" || true
	else
		grep -c '^=== sendmail' "$MAIL" || true
	fi
}

create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "$2"
}

# latest NAME: GET the latest version; sets VER, NBF, EXP, CER.
latest() {
	kv_curl GET "/certificates/$1?api-version=$API"
	VER=$(printf '%s' "$KV_BODY" | jq -r '.id | split("/") | last')
	NBF=$(printf '%s' "$KV_BODY" | jq -r .attributes.nbf)
	EXP=$(printf '%s' "$KV_BODY" | jq -r .attributes.exp)
	CER=$(printf '%s' "$KV_BODY" | jq -r .cer)
}

versions() {
	kv_curl GET "/certificates/$1/versions?api-version=$API"
	printf '%s' "$KV_BODY" | jq '.value | length'
}

# runs NAME [WHERE]: the recorded runs of NAME as "action trigger outcome".
runs() {
	t_psql "SELECT r.action_type || ' ' || r.trigger || ' ' || r.outcome
		FROM lifetime_action_runs r JOIN certificates c ON c.id = r.certificate_id
		WHERE c.name = '$1' ${2:+AND $2} ORDER BY r.id"
}

# The vault's contacts, through the API if the route is there; removed at exit.
CONTACTS='{"contacts":[{"email":"ops@example.com","name":"Ops"},{"email":"pki@example.org"},{"name":"No Mail","phone":"555"}]}'
VAULT_ID=$(t_psql "SELECT id FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME'")
set_contacts() {
	kv_send PUT "/certificates/contacts?api-version=$API" "$CONTACTS"
	if [ "$KV_STATUS" != 200 ]; then
		diag "PUT /certificates/contacts answered $KV_STATUS: contacts set with psql"
		t_psql "DELETE FROM contacts WHERE vault_id = $VAULT_ID;
			INSERT INTO contacts (vault_id, sort_order, email, name, phone) VALUES
			($VAULT_ID, 0, 'ops@example.com', 'Ops', NULL),
			($VAULT_ID, 1, 'pki@example.org', NULL, NULL),
			($VAULT_ID, 2, NULL, 'No Mail', '555')" >/dev/null
	fi
}
clear_contacts() { t_psql "DELETE FROM contacts WHERE vault_id = $VAULT_ID" >/dev/null; }
t_on_exit clear_contacts
set_contacts

EC='"key_props":{"kty":"EC","crv":"P-256"}'

# --- AutoRenew, issuer Self, at 80 % ------------------------------------------
cert_new_name R renew
create "$R" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=renew.example","validity_months":12},"issuer":{"name":"Self"},"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}]},"tags":{"env":"lifetime"}}'
assert_status 202 "Self with AutoRenew at 80 %: create 202"
latest "$R"
V1=$VER NBF1=$NBF EXP1=$EXP CER1=$CER
assert_match '^[0-9a-f]{32}$' "$V1" "Self: the first version is issued"
DUE=$((NBF1 + (EXP1 - NBF1) * 80 / 100))

lt_run --certificate "$R" --as-of "$(iso $((DUE - DAY)))"
assert_eq 0 "$LT_RC" "a day before 80 %: lifetime run exits 0"
assert_match "0 lifetime actions recorded" "$LT_OUT" "a day before 80 %: nothing done"
assert_eq 1 "$(versions "$R")" "a day before 80 %: still one version"
assert_eq "" "$(runs "$R")" "a day before 80 %: no run recorded"

ASOF=$((NBF1 + 334 * DAY)) # 11 months later
lt_run --certificate "$R" --as-of "$(iso $ASOF)"
assert_eq 0 "$LT_RC" "11 months later: lifetime run exits 0"
assert_match "renewed $CERTVAULT_VAULT_NAME/$R: AutoRenew \\(lifetime_percentage=80\\) of version $V1: new version [0-9a-f]{32}" \
	"$LT_OUT" "11 months later: it says it renewed"
assert_match "1 lifetime action recorded" "$LT_OUT" "11 months later: one action"
assert_eq 2 "$(versions "$R")" "11 months later: GET versions has 2"
latest "$R"
V2=$VER
assert_ne "$V1" "$V2" "the latest version is the new one"
assert_match "new version $V2" "$LT_OUT" "the output names the new version"
assert_ne "$CER1" "$CER" "the latest cer differs"
assert_true "the new nbf is later (valid from the as-of time)" test "$NBF" -gt "$NBF1"
assert_true "the new version expires about 12 months after it starts" \
	test $((EXP - NBF)) -ge $((360 * DAY)) -a $((EXP - NBF)) -le $((370 * DAY))
assert_json .attributes.enabled true "the new version is enabled"
assert_json .tags '{"env":"lifetime"}' "the new version has the tags of the one it renews"
assert_json .policy.issuer.name '"Self"' "the policy is kept"
b64_to_file "$CER" "$T_TMP/r2.der"
assert_match "CN=renew.example" "$(der_info "$T_TMP/r2.der")" "the new certificate has the policy's subject"
assert_eq 2 "$(t_psql "SELECT count(DISTINCT k.public_key) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '$R'")" \
	"reuse_key false: the new version has a new key"
kv_curl GET "/certificates/$R/pending?api-version=$API"
assert_status 200 "the renewal left a completed operation: 200"
assert_json .status '"completed"' "… status completed"
assert_eq autorenew "$(t_psql "SELECT p.origin FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name = '$R'")" \
	"… with origin autorenew"
assert_eq "AutoRenew lifetime_percentage=80 renewed" "$(runs "$R")" "the run is recorded: renewed"
assert_eq "$V2" "$(t_psql "SELECT new_version FROM lifetime_action_runs r JOIN certificates c ON c.id = r.certificate_id WHERE c.name = '$R'")" \
	"… naming the new version"
assert_eq "$V1" "$(t_psql "SELECT version FROM lifetime_action_runs_overview WHERE certificate_name = '$R'")" \
	"… computed from the version it renewed (overview view)"

lt_run --certificate "$R" --as-of "$(iso $ASOF)"
assert_match "0 lifetime actions recorded" "$LT_OUT" "run again: nothing done"
assert_eq 2 "$(versions "$R")" "run again: still 2 versions"
latest "$R"
assert_eq "$V2" "$VER" "run again: the latest version is unchanged"

# --- AutoRenew with key_props.reuse_key ---------------------------------------
cert_new_name K reuse
create "$K" '{"policy":{"key_props":{"kty":"EC","crv":"P-256","reuse_key":true},"x509_props":{"subject":"CN=reuse.example","validity_months":12},"issuer":{"name":"Self"}}}'
assert_status 202 "Self with reuse_key (default AutoRenew at 80 %): create 202"
latest "$K"
lt_run --certificate "$K" --as-of "$(iso $((NBF + 334 * DAY)))"
assert_eq 2 "$(versions "$K")" "reuse_key: renewed"
assert_eq "1:2" "$(t_psql "SELECT count(DISTINCT k.public_key) || ':' || count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '$K'")" \
	"reuse_key: both versions have the same key pair (sealed apart)"
kv_curl GET "/secrets/$K?api-version=$API"
assert_status 200 "reuse_key: the secret of the new version opens (the kept key, sealed again)"

# --- an operation in progress holds AutoRenew back -------------------------------
cert_new_name H held
create "$H" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=held.example","validity_months":12},"issuer":{"name":"Self"}}}'
latest "$H"
HNBF=$NBF
# As if a create were waiting for its issuer: the 409 rule of create.
t_psql "UPDATE pending_operations SET status = 'inProgress', finished_at = NULL,
	status_details = 'held by t_lifetime' WHERE certificate_id =
	(SELECT id FROM certificates WHERE name = '$H')" >/dev/null
lt_run --certificate "$H" --as-of "$(iso $((HNBF + 334 * DAY)))"
assert_match "waiting $CERTVAULT_VAULT_NAME/$H: AutoRenew \\(lifetime_percentage=80\\)" "$LT_OUT" \
	"operation in progress: AutoRenew waits"
assert_eq 1 "$(versions "$H")" "operation in progress: no new version"
assert_eq "" "$(runs "$H")" "operation in progress: nothing recorded (it is still to do)"
t_psql "UPDATE pending_operations SET status = 'completed', finished_at = now(), status_details = NULL
	WHERE certificate_id = (SELECT id FROM certificates WHERE name = '$H')" >/dev/null
lt_run --certificate "$H" --as-of "$(iso $((HNBF + 334 * DAY)))"
assert_eq 2 "$(versions "$H")" "once the operation is over: renewed"

# --- AutoRenew with issuer Unknown: not possible -----------------------------------
test_ca_make "$T_TMP/ca" || bail "certtool could not make a test CA"
cert_new_name U unknown
create "$U" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=unknown.example","validity_months":12},"issuer":{"name":"Unknown"},"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}]}}'
assert_status 202 "Unknown with AutoRenew: create 202"
test_ca_sign "$T_TMP/ca" "$(printf '%s' "$KV_BODY" | jq -r .csr)" "$T_TMP/u" || bail "certtool could not sign"
kv_send POST "/certificates/$U/pending/merge?api-version=$API" \
	"{\"x5c\":[\"$(base64 -w0 "$T_TMP/u.der")\"]}"
assert_status 201 "Unknown: merged"
latest "$U"
lt_run --certificate "$U" --as-of "$(iso $((EXP - DAY)))"
assert_match "not possible $CERTVAULT_VAULT_NAME/$U: AutoRenew \\(lifetime_percentage=80\\) of version $VER: .*Unknown" \
	"$LT_OUT" "Unknown: AutoRenew is not possible, and it says why"
assert_eq 1 "$(versions "$U")" "Unknown: no new version"
assert_eq "AutoRenew lifetime_percentage=80 not possible" "$(runs "$U")" "Unknown: recorded as not possible"
assert_match "Unknown" "$(t_psql "SELECT details FROM lifetime_action_runs r JOIN certificates c ON c.id = r.certificate_id WHERE c.name = '$U'")" \
	"Unknown: the record says why"
lt_run --certificate "$U" --as-of "$(iso $((EXP - DAY)))"
assert_match "0 lifetime actions recorded" "$LT_OUT" "Unknown: run again: nothing"

# --- EmailContacts 30 days before expiry ----------------------------------------
cert_new_name E mail
create "$E" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=mail.example","validity_months":12},"issuer":{"name":"Self"},"lifetime_actions":[{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}}]}}'
assert_status 202 "Self with EmailContacts 30 days before expiry: create 202"
latest "$E"
EV=$VER ENBF=$NBF EEXP=$EXP
lt_run --certificate "$E" --as-of "$(iso $((EEXP - 31 * DAY)))"
assert_match "0 lifetime actions recorded" "$LT_OUT" "31 days before expiry: nothing"
assert_eq 0 "$(messages)" "31 days before expiry: no message"
lt_run --certificate "$E" --as-of "$(iso $((ENBF + 340 * DAY)))"
assert_eq 0 "$LT_RC" "340 days later: lifetime run exits 0"
assert_match "sent $CERTVAULT_VAULT_NAME/$E: EmailContacts \\(days_before_expiry=30\\) of version $EV to ops@example.com,pki@example.org" \
	"$LT_OUT" "340 days later: it says it sent"
assert_eq 1 "$(messages)" "340 days later: exactly one message"
MSG=$(cat "$MAIL")
assert_match "^=== sendmail -t -i" "$MSG" "the command got its arguments, nothing from the certificate"
assert_match $'\nTo: ops@example.com, pki@example.org\n' "$MSG" "To: the contacts with an email, in order"
assert_match $'\nSubject: Certificate '"$E"' in vault '"$CERTVAULT_VAULT_NAME"' expires on '"$(iso "$EEXP")" "$MSG" \
	"Subject: names the certificate, the vault and the expiry"
assert_match "Version: +$EV" "$MSG" "the text names the version"
assert_match "Trigger: +days_before_expiry=30, reached on $(iso $((EEXP - 30 * DAY)))" "$MSG" "the text names the trigger"
assert_match "https://$CERTVAULT_VAULT_HOST/certificates/$E/$EV" "$MSG" "the text has the version's identifier"
assert_eq "EmailContacts days_before_expiry=30 sent" "$(runs "$E")" "recorded: sent"
assert_eq "{ops@example.com,pki@example.org}" \
	"$(t_psql "SELECT recipients FROM lifetime_action_runs r JOIN certificates c ON c.id = r.certificate_id WHERE c.name = '$E'")" \
	"recorded: the recipients"
lt_run --certificate "$E" --as-of "$(iso $((ENBF + 340 * DAY)))"
assert_match "0 lifetime actions recorded" "$LT_OUT" "run again: nothing"
assert_eq 1 "$(messages)" "run again: still one message"
assert_eq 1 "$(versions "$E")" "EmailContacts makes no version"

# --- no contacts ----------------------------------------------------------------
clear_contacts
cert_new_name N nocontacts
create "$N" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=nocontacts.example","validity_months":12},"issuer":{"name":"Self"},"lifetime_actions":[{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}}]}}'
latest "$N"
lt_run --certificate "$N" --as-of "$(iso $((EXP - DAY)))"
assert_match "no contacts $CERTVAULT_VAULT_NAME/$N: EmailContacts" "$LT_OUT" "no contacts: it says so"
assert_eq "EmailContacts days_before_expiry=30 no contacts" "$(runs "$N")" "no contacts: recorded"
assert_eq 1 "$(messages)" "no contacts: no message"
set_contacts

# --- a failing sendmail: recorded, tried again after the back-off -----------------
cert_new_name F failmail
create "$F" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=failmail.example","validity_months":12},"issuer":{"name":"Self"},"lifetime_actions":[{"trigger":{"lifetime_percentage":50},"action":{"action_type":"EmailContacts"}}]}}'
latest "$F"
FASOF=$(iso $((EXP - DAY)))
lt_run --config "$T_TMP/fail.conf" --certificate "$F" --as-of "$FASOF"
assert_eq 0 "$LT_RC" "failing sendmail: lifetime run still exits 0"
assert_match "error $CERTVAULT_VAULT_NAME/$F: EmailContacts \\(lifetime_percentage=50\\) of version $VER: sendmail failed: the command exited with status 75; next attempt after" \
	"$LT_OUT" "failing sendmail: it says so, and when it tries again"
assert_eq "EmailContacts lifetime_percentage=50 error" "$(runs "$F")" "failing sendmail: recorded as error"
assert_eq "1|the command exited with status 75|t" \
	"$(t_psql "SELECT attempts, error, next_attempt_at BETWEEN now() + interval '50 seconds' AND now() + interval '70 seconds' FROM lifetime_action_runs r JOIN certificates c ON c.id = r.certificate_id WHERE c.name = '$F'")" \
	"failing sendmail: 1 attempt, the error, next attempt in a minute"
lt_run --certificate "$F" --as-of "$FASOF"
assert_match "0 lifetime actions recorded" "$LT_OUT" "during the back-off: not tried again"
assert_eq 1 "$(messages)" "during the back-off: no message"
lt_run --config "$T_TMP/fail.conf" --certificate "$F" --as-of "$FASOF"
t_psql "UPDATE lifetime_action_runs SET next_attempt_at = now() - interval '1 second' WHERE certificate_id = (SELECT id FROM certificates WHERE name = '$F')" >/dev/null
lt_run --config "$T_TMP/fail.conf" --certificate "$F" --as-of "$FASOF"
assert_eq "2|t" "$(t_psql "SELECT attempts, next_attempt_at > now() + interval '110 seconds' FROM lifetime_action_runs r JOIN certificates c ON c.id = r.certificate_id WHERE c.name = '$F'")" \
	"failing again: 2 attempts, the back-off doubles"
t_psql "UPDATE lifetime_action_runs SET next_attempt_at = now() - interval '1 second' WHERE certificate_id = (SELECT id FROM certificates WHERE name = '$F')" >/dev/null
lt_run --certificate "$F" --as-of "$FASOF"
assert_match "sent $CERTVAULT_VAULT_NAME/$F: EmailContacts" "$LT_OUT" "after the back-off, with a working sendmail: sent"
assert_eq "3|sent|" "$(t_psql "SELECT attempts, outcome, error FROM lifetime_action_runs r JOIN certificates c ON c.id = r.certificate_id WHERE c.name = '$F'")" \
	"… recorded as sent, 3 attempts, no error left"
assert_eq 2 "$(messages)" "… one more message"

# --- the worker does the same (certvault-worker --once --as-of) -----------------
cert_new_name W worker
create "$W" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=worker.example","validity_months":12},"issuer":{"name":"Self"},"lifetime_actions":[{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}},{"trigger":{"days_before_expiry":30},"action":{"action_type":"AutoRenew"}}]}}'
latest "$W"
WV=$VER
# Both triggers an hour from now: the stack's own worker (as of now) leaves
# them alone, a worker as of two hours from now finds them due, and nothing
# else in the shared database is due in between.
t_psql "UPDATE certificate_versions SET not_before = now() - interval '330 days',
	not_after = now() + interval '30 days 1 hour' WHERE version = '$WV'" >/dev/null
WASOF=$(iso $(($(date +%s) + 7200)))
timeout 60 "$WORKER" --config "$T_TMP/lt.conf" --once --as-of "$WASOF" \
	>"$T_TMP/worker.out" 2>&1 && WRC=0 || WRC=$?
assert_eq 0 "$WRC" "certvault-worker --once --as-of: exit 0"
assert_match "job lifetime-actions: [0-9]+ done" "$(cat "$T_TMP/worker.out")" "the worker logs its lifetime job"
assert_eq 1 "$(messages "$W")" "the worker sent the message"
assert_eq 2 "$(versions "$W")" "the worker renewed"
assert_eq "EmailContacts days_before_expiry=30 sent
AutoRenew days_before_expiry=30 renewed" "$(runs "$W")" "the worker recorded both, in policy order"
timeout 60 "$WORKER" --config "$T_TMP/lt.conf" --once --as-of "$WASOF" >>"$T_TMP/worker.out" 2>&1 || true
assert_eq 1 "$(messages "$W")" "the worker again: no second message (the new version is not due)"
assert_eq 2 "$(versions "$W")" "the worker again: no third version"
assert_eq "$WV" "$(t_psql "SELECT DISTINCT version FROM lifetime_action_runs_overview WHERE certificate_name = '$W'")" \
	"both were computed from the first version"

# --- several at once: each action still happens once ----------------------------
cert_new_name C concurrent
create "$C" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=concurrent.example","validity_months":12},"issuer":{"name":"Self"},"lifetime_actions":[{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}},{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}]}}'
latest "$C"
CASOF=$(iso $((EXP - DAY)))
pids=()
for i in 1 2 3 4 5 6; do
	"$ADMIN" --config "$T_TMP/lt.conf" lifetime run --certificate "$C" --as-of "$CASOF" \
		>"$T_TMP/c$i.out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
assert_eq 1 "$(messages "$C")" "6 runs at once: one message"
assert_eq 2 "$(versions "$C")" "6 runs at once: one renewal"
assert_eq "EmailContacts days_before_expiry=30 sent
AutoRenew lifetime_percentage=80 renewed" "$(runs "$C")" "6 runs at once: each action recorded once"

# --- AutoRenew through an issuer object (LocalCA) -------------------------------
ISSUER=lt-ca-$(cv_random_hex 3)
kv_send PUT "/certificates/issuers/$ISSUER?api-version=$API" '{"provider":"LocalCA"}'
if [ "$KV_STATUS" = 200 ] || [ "$KV_STATUS" = 201 ]; then
	t_on_exit "t_psql \"DELETE FROM issuers WHERE name = '$ISSUER'\" >/dev/null"
	cert_new_name L localca
	create "$L" '{"policy":{'"$EC"',"x509_props":{"subject":"CN=localca.example","validity_months":12},"issuer":{"name":"'"$ISSUER"'"}}}'
	assert_status 202 "LocalCA (default AutoRenew at 80 %): create 202"
	wait_until 30 eval "[ \"\$(t_psql \"SELECT p.status FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name = '$L'\")\" != inProgress ]" ||
		diag "the LocalCA operation is still in progress after 30 s"
	latest "$L"
	if [ -n "$CER" ] && [ "$CER" != null ]; then
		LV=$VER
		lt_run --certificate "$L" --as-of "$(iso $((NBF + 334 * DAY)))"
		assert_match "renewal requested $CERTVAULT_VAULT_NAME/$L: AutoRenew \\(lifetime_percentage=80\\) of version $LV: new version [0-9a-f]{32}, waiting for its issuer" \
			"$LT_OUT" "LocalCA: a renewal is requested"
		assert_eq "AutoRenew lifetime_percentage=80 renewal requested" "$(runs "$L")" "LocalCA: recorded"
		assert_eq "autorenew|$ISSUER|LocalCA" \
			"$(t_psql "SELECT p.origin, p.issuer_name, p.issuer_provider FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name = '$L'")" \
			"LocalCA: an operation with origin autorenew for the issuer"
		lt_run --certificate "$L" --as-of "$(iso $((NBF + 334 * DAY)))"
		assert_match "0 lifetime actions recorded" "$LT_OUT" "LocalCA: run again: nothing"
		assert_true "LocalCA: the worker signs the renewal" wait_until 30 eval \
			"[ \"\$(t_psql \"SELECT count(*) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE c.name = '$L' AND v.certificate_der IS NOT NULL\")\" = 2 ]"
		latest "$L"
		assert_ne "$LV" "$VER" "LocalCA: the signed renewal is the latest version"
	else
		diag "the LocalCA issuer did not issue the first version: renewal through it not checked"
	fi
else
	diag "PUT /certificates/issuers answered $KV_STATUS: renewal through an issuer object not checked"
fi

t_done

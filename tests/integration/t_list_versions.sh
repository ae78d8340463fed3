#!/usr/bin/env bash
# Lists, versions, update and policy through lighttpd:
#   - GET /certificates: value always an array, nextLink null or a URL;
#     maxresults 1..25 (0, 26, -1, "x" → 400), includePending true/false;
#     paging with maxresults=2 over certificates this test makes (the list
#     is vault-wide: the checks look at this test's prefix), following
#     nextLink verbatim until null: every name exactly once, in name
#     order, full pages until the last; certificates inserted while paging
#     (keyset pagination): no duplicates, no pre-existing name skipped,
#     one inserted after the cursor is seen, one before it is not;
#   - includePending: a certificate with only a pending version (issuer
#     Unknown) is absent by default, present with includePending=true
#     (enabled false, no x5t), and the nextLink keeps the flag; one whose
#     next version is pending is listed with its issued version;
#   - GET /certificates/{name}/versions: three Self versions (and a
#     pending fourth) paged with maxresults=1, ids in creation order;
#   - PATCH /certificates/{name}/ (latest) and /{version}: enabled and
#     tags, updated moves, nbf/exp ignored, the other versions untouched;
#     404 for an unknown version or name, 400 for bad bodies;
#   - GET/PATCH /certificates/{name}/policy: id and timestamps; key_props
#     EC P-256 merged in (x509_props kept), the next create without a
#     policy makes an EC P-256 certificate (certtool); a bad member → 400
#     naming it, the stored policy unchanged.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "ERROR: certtool (gnutls-bin) is not installed"; T_DONE=1; exit 99; }

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
MAX_PAGES=2000

# own_name NAME: a certificate name this test chose, removed at exit.
own_name() {
	if [ "${#CERT_NAMES[@]}" -eq 0 ]; then t_on_exit cert_purge_names; fi
	CERT_NAMES+=("$1")
}

# self_create NAME [KEY_PROPS]: a Self certificate (EC P-256: quick).
self_create() {
	local kp=${2:-}
	[ -n "$kp" ] || kp='{"kty":"EC","crv":"P-256"}'
	kv_send POST "/certificates/$1/create?api-version=$API" \
		"{\"policy\":{\"key_props\":$kp,\"x509_props\":{\"subject\":\"CN=$1.example\"},\"issuer\":{\"name\":\"Self\"}}}"
	[ "$KV_STATUS" = 202 ] || { diag "create $1: $KV_STATUS $KV_BODY"; return 1; }
}

# latest_version NAME: the id's version of GET /certificates/NAME/.
latest_version() {
	kv_curl GET "/certificates/$1/?api-version=$API"
	printf '%s' "$KV_BODY" | jq -r '.id | split("/") | last'
}

# page_walk PATH_AND_QUERY [HOOK]: GET it, then every nextLink verbatim
# until null (at most MAX_PAGES pages). After each page HOOK (if given)
# runs with the page's names. Sets WALK_NAMES (every name in order, one a
# line, lower case), WALK_PAGES, WALK_SIZES (items per page, spaces),
# WALK_BAD (the first problem, empty if none), WALK_LINKS (the nextLinks).
page_walk() {
	local path=$1 hook=${2:-} next page_names n=0
	WALK_NAMES='' WALK_PAGES=0 WALK_SIZES='' WALK_BAD='' WALK_LINKS=''
	while [ "$n" -lt "$MAX_PAGES" ]; do
		n=$((n + 1))
		kv_curl GET "$path"
		if [ "$KV_STATUS" != 200 ]; then
			WALK_BAD="page $n ($path): status $KV_STATUS: $KV_BODY"
			return 0
		fi
		if [ "$(printf '%s' "$KV_BODY" | jq -c '[(.value | type), (.nextLink | type)]')" != '["array","string"]' ] &&
			[ "$(printf '%s' "$KV_BODY" | jq -c '[(.value | type), (.nextLink | type)]')" != '["array","null"]' ]; then
			WALK_BAD="page $n: value is not an array or nextLink not a string or null: $KV_BODY"
			return 0
		fi
		page_names=$(printf '%s' "$KV_BODY" | jq -r '.value[].id | sub("^.*/certificates/"; "") | ascii_downcase')
		WALK_NAMES+=${page_names:+$page_names$'\n'}
		WALK_SIZES+="$(printf '%s' "$KV_BODY" | jq '.value | length') "
		WALK_PAGES=$n
		next=$(printf '%s' "$KV_BODY" | jq -r '.nextLink // empty')
		[ -n "$hook" ] && "$hook" "$page_names"
		[ -z "$next" ] && return 0
		WALK_LINKS+=$next$'\n'
		if [[ $next != "${WALK_BASE:-$BASE}/"* ]]; then
			WALK_BAD="page $n: nextLink is not an absolute URL of this vault (${WALK_BASE:-$BASE}): $next"
			return 0
		fi
		path=${next#"${WALK_BASE:-$BASE}"}
	done
	WALK_BAD="more than $MAX_PAGES pages"
}

# db_sort: the names on stdin (one a line) in the order of lower(name) in
# the database's collation, as the list orders them.
db_sort() {
	local list
	list=$(sed '/^$/d' | tr '\n' ',' | sed 's/,$//')
	[ -n "$list" ] || return 0
	t_psql "SELECT n FROM unnest(string_to_array('$list', ',')) AS n ORDER BY lower(n)"
}

# with_prefix PREFIX: the lines of stdin that start with PREFIX.
with_prefix() { grep -- "^$1" || true; }

# --- shape and parameters ---------------------------------------------------------
kv_curl GET "/certificates?api-version=$API"
assert_status 200 "list: 200"
assert_json '[(.value | type), has("nextLink")]' '["array",true]' "list: value is an array, nextLink present"
for bad in 0 26 -1 x 2.5 '1x'; do
	kv_curl GET "/certificates?api-version=$API&maxresults=$bad"
	assert_kv_error 400 BadParameter "maxresults must be an integer between 1 and 25." "list maxresults=$bad"
done
for good in 1 25; do
	kv_curl GET "/certificates?api-version=$API&maxresults=$good"
	assert_status 200 "list maxresults=$good: 200"
	assert_json "(.value | length) <= $good" true "list maxresults=$good: at most $good items"
done
kv_curl GET "/certificates?api-version=$API&includePending=maybe"
assert_kv_error 400 BadParameter "includePending must be true or false." "list includePending=maybe"
kv_curl GET "/certificates?api-version=$API&includePending=false"
assert_status 200 "list includePending=false: 200"
kv_curl GET "/certificates?api-version=$API&\$skiptoken=no%20such%20token"
assert_kv_error 400 BadParameter "The \$skiptoken is not valid." "list with a malformed \$skiptoken"

# --- paging across several pages ----------------------------------------------------
P=lv-$(cv_random_hex 4)
WANT=
for i in 1 2 3 4 5 6 7; do
	n=$P-$(cv_random_hex 3)
	own_name "$n"
	self_create "$n" || bail "could not create $n"
	WANT+=$n$'\n'
done
WANT=$(printf '%s' "$WANT" | LC_ALL=C sort)
page_walk "/certificates?api-version=$API&maxresults=2"
assert_eq "" "$WALK_BAD" "paging maxresults=2: every page 200 with value an array, nextLink a vault URL or null"
assert_true "paging: several pages ($WALK_PAGES)" test "$WALK_PAGES" -ge 4
assert_eq "$WANT" "$(printf '%s' "$WALK_NAMES" | with_prefix "$P-")" \
	"paging: each of the 7 certificates exactly once, in name order"
assert_eq "$(printf '%s' "$WALK_NAMES" | db_sort | uniq)" "$(printf '%s' "$WALK_NAMES" | sed '/^$/d')" \
	"paging: the whole list is in name order (the database's) without duplicates"
read -r -a sizes <<<"$WALK_SIZES"
full=1
for ((i = 0; i < ${#sizes[@]} - 1; i++)); do [ "${sizes[$i]}" = 2 ] || full=0; done
assert_eq 1 "$full" "paging: every page but the last has exactly maxresults items ($WALK_SIZES)"
assert_true "paging: the last page has 0..2 items" test "${sizes[-1]}" -le 2
link=$(printf '%s' "$WALK_LINKS" | head -n 1)
assert_match "^$BASE/certificates\\?api-version=$API&.*maxresults=2" "$link" "nextLink repeats the path, api-version and maxresults"
assert_match "\\\$skiptoken=" "$link" "nextLink carries a \$skiptoken"
# The page after a name that no longer exists still works (keyset).
kv_curl GET "/certificates?api-version=$API&maxresults=2&\$skiptoken=$P-"
assert_status 200 "a \$skiptoken that names no certificate: 200"
assert_eq "$(printf '%s' "$WANT" | head -n 2)" "$(printf '%s' "$KV_BODY" | jq -r '.value[].id | sub("^.*/certificates/"; "")' | with_prefix "$P-")" \
	"the page after \$skiptoken=$P- starts with this test's first names"

# Through Apache (mod_proxy_fcgi) too: the nextLink names Apache's port.
if [ -n "${CERTVAULT_APACHE_PORT:-}" ] && cv_pid_running "$CERTVAULT_APACHE_PIDFILE" apache2; then
	WALK_BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_APACHE_PORT KV_PORT=$CERTVAULT_APACHE_PORT \
		page_walk "/certificates?api-version=$API&maxresults=2"
	assert_eq "" "$WALK_BAD" "paging through Apache: every page fine, nextLink on Apache's port"
	assert_eq "$WANT" "$(printf '%s' "$WALK_NAMES" | with_prefix "$P-")" "paging through Apache: the same names"
else
	diag "Apache is not running: paging through it is not checked"
fi

# --- inserting while paging -----------------------------------------------------------
Q=lvi-$(cv_random_hex 4)
for s in b d f h; do
	own_name "$Q-$s"
	self_create "$Q-$s" || bail "could not create $Q-$s"
done
own_name "$Q-a"
own_name "$Q-e"
own_name "$Q-z"
INSERTED=
# Once $Q-b has been seen: create $Q-a (before the cursor) and $Q-e and
# $Q-z (after it).
# shellcheck disable=SC2317 # run by page_walk
insert_hook() {
	if [ -z "$INSERTED" ] && printf '%s\n' "$1" | grep -qx -- "$Q-b"; then
		INSERTED=1
		self_create "$Q-a" && self_create "$Q-e" && self_create "$Q-z" || INSERTED=failed
	fi
}
page_walk "/certificates?api-version=$API&maxresults=2" insert_hook
assert_eq "" "$WALK_BAD" "paging while inserting: every page fine"
assert_eq 1 "$INSERTED" "paging while inserting: three certificates were created mid-walk"
got=$(printf '%s' "$WALK_NAMES" | with_prefix "$Q-")
assert_eq "" "$(printf '%s' "$WALK_NAMES" | sed '/^$/d' | sort | uniq -d)" "paging while inserting: no name twice"
for s in b d f h; do
	assert_eq 1 "$(printf '%s\n' "$got" | grep -cx -- "$Q-$s" || true)" "paging while inserting: pre-existing $Q-$s seen once"
done
assert_eq 1 "$(printf '%s\n' "$got" | grep -cx -- "$Q-e" || true)" "paging while inserting: $Q-e (after the cursor) seen"
assert_eq 1 "$(printf '%s\n' "$got" | grep -cx -- "$Q-z" || true)" "paging while inserting: $Q-z (after the cursor) seen"
assert_eq 0 "$(printf '%s\n' "$got" | grep -cx -- "$Q-a" || true)" "paging while inserting: $Q-a (before the cursor) not seen"
assert_eq "$(printf '%s\n' "$got" | LC_ALL=C sort)" "$got" "paging while inserting: still in name order"
page_walk "/certificates?api-version=$API&maxresults=25"
assert_eq "$Q-a $Q-b $Q-d $Q-e $Q-f $Q-h $Q-z" "$(printf '%s' "$WALK_NAMES" | with_prefix "$Q-" | tr '\n' ' ' | sed 's/ $//')" \
	"a fresh walk sees all seven"

# --- includePending ----------------------------------------------------------------------
W=lvp-$(cv_random_hex 4)
own_name "$W"
kv_send POST "/certificates/$W/create?api-version=$API" \
	"{\"policy\":{\"x509_props\":{\"subject\":\"CN=$W.example\"},\"issuer\":{\"name\":\"Unknown\"}}}"
assert_status 202 "Unknown create (only a pending version): 202"
# One issued version, then a pending one.
W2=lvp-$(cv_random_hex 4)
own_name "$W2"
self_create "$W2" || bail "could not create $W2"
W2_VER=$(latest_version "$W2")
kv_send POST "/certificates/$W2/create?api-version=$API" \
	"{\"policy\":{\"x509_props\":{\"subject\":\"CN=$W2.example\"},\"issuer\":{\"name\":\"Unknown\"}}}"
assert_status 202 "a pending second version: 202"

# item_of NAME QUERY: the list item of NAME, walking the list with QUERY.
ITEM=
# shellcheck disable=SC2317 # run by page_walk
item_hook() {
	local it
	it=$(printf '%s' "$KV_BODY" | jq -c --arg n "$ITEM_NAME" '.value[] | select(.id | ascii_downcase | endswith("/certificates/" + $n))')
	[ -n "$it" ] && ITEM=$it
	return 0
}
item_of() {
	ITEM='' ITEM_NAME=$1
	page_walk "/certificates?api-version=$API&maxresults=3$2" item_hook
}
item_of "$W" ""
assert_eq "" "$WALK_BAD" "walk without includePending: fine"
assert_eq "" "$ITEM" "a certificate with only a pending version is not listed by default"
item_of "$W" "&includePending=false"
assert_eq "" "$ITEM" "nor with includePending=false"
item_of "$W" "&includePending=true"
assert_eq "" "$WALK_BAD" "walk with includePending=true: fine"
assert_json '[.id, .attributes.enabled, has("x5t")]' "[\"$BASE/certificates/$W\",false,false]" \
	"includePending=true: the pending certificate is listed (base id, enabled false, no x5t)" "${ITEM:-null}"
if [ "$WALK_PAGES" -gt 1 ]; then
	assert_match 'includePending=true' "$(printf '%s' "$WALK_LINKS" | head -n 1)" "includePending=true: the nextLink keeps the flag"
fi
item_of "$W2" ""
kv_curl GET "/certificates/$W2/$W2_VER?api-version=$API"
X5T=$(printf '%s' "$KV_BODY" | jq -r .x5t)
assert_json '[.id, .attributes.enabled, .x5t]' "[\"$BASE/certificates/$W2\",true,\"$X5T\"]" \
	"a certificate whose next version is pending: listed with its issued version" "${ITEM:-null}"
assert_json '.attributes | [(.created | type), (.updated | type), (.nbf | type), (.exp | type)]' \
	'["number","number","number","number"]' "list item attributes: created, updated, nbf, exp" "${ITEM:-null}"

# --- versions --------------------------------------------------------------------------------
V=lvv-$(cv_random_hex 4)
own_name "$V"
VERS=
for i in 1 2 3; do
	self_create "$V" || bail "could not create version $i of $V"
	VERS+=$(latest_version "$V")$'\n'
done
VERS=$(printf '%s' "$VERS")
assert_eq 3 "$(printf '%s\n' "$VERS" | sort -u | grep -c .)" "three creates made three distinct versions"
kv_curl GET "/certificates/$V/versions?api-version=$API&maxresults=1"
assert_status 200 "versions maxresults=1: 200"
assert_json '.value | length' 1 "versions: one item on the first page"
assert_match "^$BASE/certificates/$V/versions\\?api-version=$API&.*maxresults=1" "$(printf '%s' "$KV_BODY" | jq -r .nextLink)" \
	"versions: nextLink repeats the path, api-version and maxresults"
page_walk "/certificates/$V/versions?api-version=$API&maxresults=1"
assert_eq "" "$WALK_BAD" "versions paging: every page fine"
assert_eq "1 1 1 " "$WALK_SIZES" "versions paging: three pages of one"
assert_eq "$(printf '%s\n' "$VERS" | sed "s|^|$(printf '%s' "$V" | tr '[:upper:]' '[:lower:]')/|")" "$(printf '%s' "$WALK_NAMES")" \
	"versions: the three ids in creation order"
kv_curl GET "/certificates/$V/versions?api-version=$API"
assert_json '[.value[] | (.x5t | type), .attributes.enabled]' '["string",true,"string",true,"string",true]' \
	"versions: items have x5t and enabled"
assert_json '[.value[] | has("policy") or has("cer")] | any' false "versions: items are CertificateItems (no policy, no cer)"
assert_json .nextLink null "versions: one page by default"
for bad in 0 26 x; do
	kv_curl GET "/certificates/$V/versions?api-version=$API&maxresults=$bad"
	assert_kv_error 400 BadParameter "maxresults must be an integer between 1 and 25." "versions maxresults=$bad"
done
kv_curl GET "/certificates/$V/versions?api-version=$API&\$skiptoken=nothex"
assert_kv_error 400 BadParameter "The \$skiptoken is not valid." "versions with a malformed \$skiptoken"
kv_curl GET "/certificates/lvv-none-$(cv_random_hex 4)/versions?api-version=$API"
assert_status 200 "versions of an unknown name: 200"
assert_json . '{"value":[],"nextLink":null}' "versions of an unknown name: an empty list"
kv_send POST "/certificates/$V/create?api-version=$API" \
	"{\"policy\":{\"x509_props\":{\"subject\":\"CN=$V.example\"},\"issuer\":{\"name\":\"Unknown\"}}}"
assert_status 202 "a fourth, pending version: 202"
kv_curl GET "/certificates/$V/versions?api-version=$API"
assert_json '.value | length' 4 "versions: the pending version is listed too"
assert_json '.value[3] | [.attributes.enabled, has("x5t")]' '[false,false]' "versions: the pending one is disabled, without x5t"
assert_json -r '.value[2].id | split("/") | last' "$(printf '%s\n' "$VERS" | tail -n 1)" "versions: the pending one comes last"

# --- update --------------------------------------------------------------------------------------
X=lvu-$(cv_random_hex 4)
own_name "$X"
self_create "$X" || bail "could not create $X"
X1=$(latest_version "$X")
self_create "$X" || bail "could not create $X again"
X2=$(latest_version "$X")
kv_curl GET "/certificates/$X/$X2?api-version=$API"
BEFORE=$KV_BODY
U0=$(printf '%s' "$BEFORE" | jq .attributes.updated)
sleep 1.1
kv_send PATCH "/certificates/$X/?api-version=$API" '{"attributes":{"enabled":false},"tags":{"team":"web","env":"test"}}'
assert_status 200 "PATCH latest (empty version): 200"
assert_json -r .id "$BASE/certificates/$X/$X2" "PATCH latest: the latest version's bundle"
assert_json .attributes.enabled false "PATCH latest: enabled false"
assert_json '.tags == {"team":"web","env":"test"}' true "PATCH latest: tags"
assert_true "PATCH latest: updated moved ($U0 → $(printf '%s' "$KV_BODY" | jq .attributes.updated))" \
	test "$(printf '%s' "$KV_BODY" | jq .attributes.updated)" -gt "$U0"
assert_json -r .cer "$(printf '%s' "$BEFORE" | jq -r .cer)" "PATCH latest: the certificate itself unchanged"
assert_json '[.attributes.nbf, .attributes.exp, .attributes.created]' \
	"$(printf '%s' "$BEFORE" | jq -c '[.attributes.nbf, .attributes.exp, .attributes.created]')" "PATCH latest: nbf, exp, created unchanged"
kv_curl GET "/certificates/$X/?api-version=$API"
assert_json '[.attributes.enabled, .tags == {"team":"web","env":"test"}]' '[false,true]' "GET after PATCH shows enabled false and the tags"
kv_curl GET "/certificates/$X/$X1?api-version=$API"
assert_json '[.attributes.enabled, has("tags") and (.tags | length > 0)]' '[true,false]' "the older version is untouched"

kv_send PATCH "/certificates/$X/$X1?api-version=$API" '{"attributes":{"enabled":false},"tags":{"old":"yes"}}'
assert_status 200 "PATCH by version: 200"
assert_json -r .id "$BASE/certificates/$X/$X1" "PATCH by version: that version's bundle"
assert_json '[.attributes.enabled, .tags]' '[false,{"old":"yes"}]' "PATCH by version: enabled false and tags"
kv_send PATCH "/certificates/$X/$X1?api-version=$API" '{"attributes":{"enabled":true}}'
assert_json '[.attributes.enabled, .tags]' '[true,{"old":"yes"}]' "PATCH enabled only: the tags stay"
kv_send PATCH "/certificates/$X/$X1?api-version=$API" '{"tags":{"new":"1"}}'
assert_json '[.attributes.enabled, .tags]' '[true,{"new":"1"}]' "PATCH tags only: the tag set is replaced, enabled stays"
kv_send PATCH "/certificates/$X/$X1?api-version=$API" '{"tags":{}}'
assert_json '.tags // {}' '{}' "PATCH tags {}: no tags left"
kv_curl GET "/certificates/$X/$X2?api-version=$API"
assert_json '[.attributes.enabled, .tags == {"team":"web","env":"test"}]' '[false,true]' "the latest is untouched by PATCHes of the older one"
kv_send PATCH "/certificates/$X?api-version=$API" '{"attributes":{"enabled":true,"exp":4102444800,"nbf":1}}'
assert_status 200 "PATCH /certificates/{name} (no trailing slash): 200"
assert_json -r .id "$BASE/certificates/$X/$X2" "no trailing slash: the latest version"
assert_json .attributes.enabled true "enabled again"
assert_json '[.attributes.nbf, .attributes.exp]' "$(printf '%s' "$BEFORE" | jq -c '[.attributes.nbf, .attributes.exp]')" \
	"nbf and exp in a PATCH are ignored (they are the certificate's)"
kv_send PATCH "/certificates/$X/?api-version=$API" '{}'
assert_status 200 "PATCH {}: 200"
kv_send PATCH "/certificates/$X/?api-version=2025-07-01" '{"attributes":{},"tags":{"sdk":"x"}}'
assert_json .tags '{"sdk":"x"}' "PATCH with api-version 2025-07-01 and empty attributes (what the SDK sends)"

kv_send PATCH "/certificates/$X/$(cv_random_hex 16)?api-version=$API" '{"attributes":{"enabled":false}}'
assert_kv_error 404 CertificateNotFound "" "PATCH of an unknown version"
kv_send PATCH "/certificates/$X/not-a-version?api-version=$API" '{"attributes":{"enabled":false}}'
assert_kv_error 404 CertificateNotFound "" "PATCH of a malformed version"
MISSING=lvu-none-$(cv_random_hex 4)
kv_send PATCH "/certificates/$MISSING/?api-version=$API" '{"attributes":{"enabled":false}}'
assert_kv_error 404 CertificateNotFound "Certificate not found: $MISSING" "PATCH of an unknown certificate"
kv_send PATCH "/certificates/$X/?api-version=$API" '{"attributes":'
assert_kv_error 400 BadParameter "" "PATCH with a body that is not JSON"
kv_send PATCH "/certificates/$X/?api-version=$API" '[]'
assert_kv_error 400 BadParameter "The request body must be a JSON object." "PATCH with a JSON array"
kv_send PATCH "/certificates/$X/?api-version=$API" '{"attributes":{"enabled":"no"}}'
assert_kv_error 400 BadParameter "attributes.enabled must be true or false." "PATCH enabled \"no\""
kv_send PATCH "/certificates/$X/?api-version=$API" '{"attributes":true}'
assert_kv_error 400 BadParameter "" "PATCH attributes not an object"
kv_send PATCH "/certificates/$X/?api-version=$API" '{"tags":{"n":1}}'
assert_kv_error 400 BadParameter "tags.n must be a string." "PATCH with a tag that is not a string"
kv_send PATCH "/certificates/$X/?api-version=$API" '{"tags":["a"]}'
assert_kv_error 400 BadParameter "tags must be a JSON object of strings." "PATCH with tags not an object"
kv_curl GET "/certificates/$X/?api-version=$API"
assert_json '[.attributes.enabled, .tags]' '[true,{"sdk":"x"}]' "the refused PATCHes changed nothing"
item_of "$X" ""
assert_json '[.attributes.enabled, .tags]' '[true,{"sdk":"x"}]' "the list item shows the latest version's enabled and tags" "${ITEM:-null}"
kv_send PATCH "/certificates/$X/?api-version=$API" '{"attributes":{"enabled":false}}'
item_of "$X" ""
assert_json '.attributes.enabled' false "a disabled certificate is still listed, as disabled" "${ITEM:-null}"
kv_curl GET "/certificates/$X/versions?api-version=$API"
assert_json '[.value[] | .attributes.enabled]' '[true,false]' "versions show each version's own enabled"

# --- policy ------------------------------------------------------------------------------------------
Y=lvpol-$(cv_random_hex 4)
own_name "$Y"
T0=$(date +%s)
kv_send POST "/certificates/$Y/create?api-version=$API" "{\"policy\":{
	\"key_props\":{\"kty\":\"RSA\",\"key_size\":2048},
	\"x509_props\":{\"subject\":\"CN=$Y.example\",\"sans\":{\"dns_names\":[\"$Y.example\"]},\"validity_months\":6},
	\"issuer\":{\"name\":\"Self\"}}}"
assert_status 202 "policy: create 202"
kv_curl GET "/certificates/$Y/policy?api-version=$API"
assert_status 200 "GET policy: 200"
POL0=$KV_BODY
assert_json -r .id "$BASE/certificates/$Y/policy" "GET policy: id"
assert_json '.attributes | [.enabled, (.created | type), (.updated | type)]' '[true,"number","number"]' \
	"GET policy: attributes enabled, created, updated"
assert_true "GET policy: created is the create's time" \
	test "$(printf '%s' "$POL0" | jq .attributes.created)" -ge $((T0 - 5))
assert_json '.key_props | [.kty, .key_size]' '["RSA",2048]' "GET policy: key_props"
assert_json .x509_props.sans "{\"dns_names\":[\"$Y.example\"]}" "GET policy: sans"
assert_json .issuer.name '"Self"' "GET policy: issuer"
kv_curl GET "/certificates/$(printf '%s' "$Y" | tr '[:lower:]' '[:upper:]')/policy?api-version=$API"
assert_status 200 "GET policy: the name compares case-insensitively"
kv_curl GET "/certificates/lvpol-none-$(cv_random_hex 4)/policy?api-version=$API"
assert_kv_error 404 CertificateNotFound "" "GET policy of an unknown certificate"

sleep 1.1
kv_send PATCH "/certificates/$Y/policy?api-version=$API" '{"key_props":{"kty":"EC","crv":"P-256"}}'
assert_status 200 "PATCH policy key_props EC P-256: 200"
assert_json -r .id "$BASE/certificates/$Y/policy" "PATCH policy: id"
assert_json '.key_props | [.kty, .crv, .key_size]' '["EC","P-256",256]' "PATCH policy: key_props replaced"
assert_json .x509_props "$(printf '%s' "$POL0" | jq -c .x509_props)" "PATCH policy: x509_props kept"
assert_json .issuer "$(printf '%s' "$POL0" | jq -c .issuer)" "PATCH policy: issuer kept"
assert_json .lifetime_actions "$(printf '%s' "$POL0" | jq -c .lifetime_actions)" "PATCH policy: lifetime_actions kept"
assert_json .secret_props "$(printf '%s' "$POL0" | jq -c .secret_props)" "PATCH policy: secret_props kept"
assert_json .attributes.created "$(printf '%s' "$POL0" | jq .attributes.created)" "PATCH policy: created kept"
assert_true "PATCH policy: updated moved" \
	test "$(printf '%s' "$KV_BODY" | jq .attributes.updated)" -gt "$(printf '%s' "$POL0" | jq .attributes.updated)"
POL1=$KV_BODY
kv_curl GET "/certificates/$Y/policy?api-version=$API"
assert_json . "$(printf '%s' "$POL1" | jq -c .)" "GET policy after PATCH: the merged policy"
kv_curl GET "/certificates/$Y/?api-version=$API"
assert_json .policy "$(printf '%s' "$POL1" | jq -c .)" "the bundle carries the merged policy"
b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$T_TMP/y1.der"
assert_match 'Subject Public Key Algorithm: RSA' "$(der_info "$T_TMP/y1.der")" "the existing version keeps its RSA certificate"

kv_send POST "/certificates/$Y/create?api-version=$API" '{}'
assert_status 202 "create without a policy after the PATCH: 202"
kv_curl GET "/certificates/$Y/?api-version=$API"
assert_json '.policy.key_props | [.kty, .crv]' '["EC","P-256"]' "the new version's policy is the merged one"
b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$T_TMP/y2.der"
INFO=$(der_info "$T_TMP/y2.der")
assert_match 'Subject Public Key Algorithm: EC/ECDSA' "$INFO" "the next create made an EC key (certtool)"
assert_match 'Curve:[[:space:]]+SECP256R1' "$INFO" "on P-256"
assert_match "Subject: CN=$Y\\.example" "$INFO" "with the kept subject"
assert_match "DNSname: $Y\\.example" "$INFO" "and the kept SAN"
days=$(($(printf '%s' "$KV_BODY" | jq '.attributes.exp - .attributes.nbf') / 86400))
assert_true "and the kept validity_months 6 ($days days)" test "$days" -ge 180 -a "$days" -le 185

kv_curl GET "/certificates/$Y/policy?api-version=$API"
POL2=$KV_BODY
# policy_bad BODY MESSAGE LABEL: 400 naming the member, policy unchanged.
policy_bad() {
	kv_send PATCH "/certificates/$Y/policy?api-version=$API" "$1"
	assert_kv_error 400 BadParameter "$2" "$3"
	kv_curl GET "/certificates/$Y/policy?api-version=$API"
	assert_json . "$(printf '%s' "$POL2" | jq -c .)" "$3: the stored policy is unchanged"
}
policy_bad '{"key_props":{"kty":"DSA"}}' "policy.key_props.kty must be RSA, RSA-HSM, EC or EC-HSM." "PATCH policy kty DSA"
policy_bad '{"key_props":{"kty":"RSA","key_size":1024}}' "policy.key_props.key_size: RSA keys are 2048, 3072 or 4096 bits." \
	"PATCH policy RSA 1024"
policy_bad '{"x509_props":{"subject":"CN=a","key_usage":["flying"]}}' \
	'policy.x509_props.key_usage[0]: unknown key usage "flying".' "PATCH policy unknown key usage"
policy_bad '{"lifetime_actions":[{"trigger":{"lifetime_percentage":80,"days_before_expiry":10},"action":{"action_type":"AutoRenew"}}]}' \
	"policy.lifetime_actions[0].trigger needs exactly one of lifetime_percentage and days_before_expiry." \
	"PATCH policy with both triggers"
policy_bad '{"secret_props":{"contentType":"text/plain"}}' \
	"policy.secret_props.contentType must be application/x-pkcs12 or application/x-pem-file." "PATCH policy contentType"
policy_bad '{"key_props":' "" "PATCH policy not JSON"
policy_bad '' "The request body is missing." "PATCH policy without a body"
kv_send PATCH "/certificates/lvpol-none-$(cv_random_hex 4)/policy?api-version=$API" '{"key_props":{"kty":"EC"}}'
assert_kv_error 404 CertificateNotFound "" "PATCH policy of an unknown certificate"

t_done

#!/usr/bin/env bash
#
# ./run.sh            install what is missing, build, start certvault on
#                     https://127.0.0.1:8443 and print how to use it;
#                     Ctrl-C stops everything.
# ./run.sh --detach   the same, but leave it running (var/certvault.env
#                     describes it); stop it later with ./run.sh --stop.
# ./run.sh --stop     stop what a detached run left running.
#
# Everything lives under ./var: a throwaway PostgreSQL (port 54320), the
# configuration, a self-signed TLS certificate, logs (var/log). lighttpd
# also listens on http://127.0.0.1:8080 for ACME http-01 challenges only
# (a production server uses port 80; see apache-conf/README.md). Running it
# again while it runs is safe: running pieces are reused, not restarted.
# Delete ./var (after --stop) to start from an empty database.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/stack.sh disable=SC2119
. scripts/stack.sh

usage() {
    sed -n '3,15s/^# \{0,1\}//p' "$0"
}

mode=foreground
case "${1:-}" in
    "") ;;
    --detach) mode=detach ;;
    --stop) mode=stop ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

HTTPS_PORT=8443
PG_PORT=54320
HTTP_PORT=8080 # ACME http-01 challenges only (production: 80)
cv_init "$PWD/var" "$HTTPS_PORT" "$PG_PORT" "" "$HTTP_PORT"
ENV_FILE=$CV_STATE_DIR/certvault.env

if [ "$mode" = stop ]; then
    cv_stack_stop
    rm -f "$ENV_FILE"
    echo "certvault stopped (state kept in $CV_STATE_DIR)"
    exit 0
fi

cv_install_packages
cv_build

# Until the stack is up, any failure (or Ctrl-C) stops what was started.
# In the foreground this trap stays: leaving run.sh stops everything.
stopping=
# shellcheck disable=SC2317  # invoked by the EXIT trap
stop_all() {
    [ -z "$stopping" ] || return 0
    stopping=1
    cv_stack_stop
    rm -f "$ENV_FILE"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

cv_stack_start

vault_url="https://$CV_VAULT_HOST:$HTTPS_PORT"
cat <<EOF

certvault is running.
  URL        $CV_URL   (vault "$CV_VAULT_NAME" also at $vault_url)
  http-01    $CV_HTTP_URL/.well-known/acme-challenge/…   (nothing else over plain HTTP)
  token      $CV_TOKEN
  CA file    $CV_CERT
  env file   $ENV_FILE
  logs       $CV_LOG_DIR/
  operators  $CV_URL/status (HTML), $CV_URL/metrics (Prometheus), from this host only
  health     $CV_URL/healthz/ready, $CV_URL/healthz/live
  database   psql "\$CERTVAULT_DATABASE_URL"   (after: . $ENV_FILE)

Try:
  curl --cacert $CV_CERT -H "Authorization: Bearer $CV_TOKEN" \\
    '$CV_URL/certificates?api-version=7.5'

The vault's own host name ($CV_VAULT_HOST) resolves to 127.0.0.1 with most
resolvers; if not, add: --resolve $CV_VAULT_HOST:$HTTPS_PORT:127.0.0.1
EOF

if [ "$mode" = detach ]; then
    trap - EXIT INT TERM HUP
    echo
    echo "Left running in the background. Stop it with: ./run.sh --stop"
    exit 0
fi

echo
echo "Press Ctrl-C to stop."
# Watch the pieces; if one dies, say which and stop the rest. `sleep & wait`
# lets the INT/TERM traps run at once instead of after the sleep.
while cv_stack_running; do
    sleep 2 &
    wait $! || true
done
cv_show_logs 20
echo "stopped unexpectedly:$CV_DEAD — stopping the rest (logs: $CV_LOG_DIR)" >&2
exit 1

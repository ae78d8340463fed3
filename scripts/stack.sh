# shellcheck shell=bash
# Optional arguments are the norm here (defaults: this instance's paths).
# shellcheck disable=SC2119,SC2120
#
# scripts/stack.sh — start and stop a private certvault stack:
#   PostgreSQL → certvault-fcgi (+ certvault-worker) → lighttpd (+ Apache)
#   (+ pebble, a test ACME CA, and pebble-challtestsrv, its fake DNS)
# under one state directory. Sourced by run.sh, test.sh and the integration
# tests, so that every private instance is set up the same way.
#
#   . scripts/stack.sh
#   cv_install_packages            # apt: only what is missing
#   cv_build [--enable-werror]     # autoreconf/configure when needed, make
#   cv_init STATE_DIR HTTPS_PORT PG_PORT [APACHE_PORT [HTTP_PORT]]
#   cv_stack_start [--apache] [--pebble]   # everything, then cv_write_env
#   cv_stack_stop                  # everything, in reverse order
#   cv_node_start NODE_DIR BIND_ADDR HTTPS_PORT [HTTP_PORT]  # an extra node
#   cv_node_stop NODE_DIR          #   on the same database (see there)
#
# An integration test that needs to poke at the running stack:
#   . "$CERTVAULT_SRC_DIR/scripts/stack.sh"
#   cv_load_env "$CERTVAULT_TEST_ENV"
#   cv_pg_stop; ...; cv_pg_start
#
# The library does not change the caller's shell options; it is written to
# work under `set -euo pipefail`. Failures that leave nothing sensible to do
# call cv_die, which exits the calling script (whose EXIT trap cleans up).
# Nothing here prints the access token or the database password.

# ---------------------------------------------------------------------------
# Settings (override in the environment or before calling cv_init)
# ---------------------------------------------------------------------------
CV_SRC_DIR=${CV_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CV_BUILD_DIR=${CV_BUILD_DIR:-$CV_SRC_DIR}
CV_VAULT_NAME=${CV_VAULT_NAME:-demo}
CV_VAULT_HOST=${CV_VAULT_HOST:-demo.vault.localhost}
CV_WORKERS=${CV_WORKERS:-2}
CV_LOG_LEVEL=${CV_LOG_LEVEL:-info}
CV_START_TIMEOUT=${CV_START_TIMEOUT:-30}   # seconds to wait for a service
CV_STOP_TIMEOUT=${CV_STOP_TIMEOUT:-20}     # seconds before SIGKILL
CV_MAKE_JOBS=${CV_MAKE_JOBS:-2}

# Debian 12 packages the stack and its build need (lighttpd's TLS module is
# a package of its own).
CV_PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    libfcgi-dev libfcgi-bin libjansson-dev libgnutls28-dev gnutls-bin
    libcurl4-gnutls-dev pebble
    libpq-dev libcunit1-dev
    postgresql-15
    lighttpd lighttpd-mod-openssl
    apache2 libapache2-mod-fcgid spawn-fcgi
    curl jq valgrind
    logrotate
    openssl python3 file procps
)

# lighttpd, apache2, runuser live in /usr/sbin, which is not on a Debian
# user's PATH.
case ":$PATH:" in
    *:/usr/sbin:*) ;;
    *) PATH=$PATH:/usr/sbin:/sbin ;;
esac

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
cv_log() { printf '[stack] %s\n' "$*" >&2; }

cv_die() {
    printf '[stack] error: %s\n' "$*" >&2
    exit 1
}

cv_is_root() { [ "$(id -u)" -eq 0 ]; }

# The OS user PostgreSQL runs as: initdb refuses root, so root hands the
# database to the `postgres` account (created by the postgresql package).
cv_pg_os_user() {
    if cv_is_root; then echo postgres; else id -un; fi
}

# Run a PostgreSQL server command as cv_pg_os_user. From / so that the
# server programs never start in a directory that user cannot enter.
cv_as_pg() {
    if cv_is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Directory of initdb/pg_ctl/psql: the newest /usr/lib/postgresql/N/bin.
cv_pg_bindir() {
    if [ -n "${CV_PG_BINDIR:-}" ]; then echo "$CV_PG_BINDIR"; return; fi
    local d
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ ! -x "$d/initdb" ]; then
        cv_die "PostgreSQL server binaries not found (is postgresql-15 installed?)"
    fi
    echo "$d"
}

# cv_port_open PORT [ADDR]: something accepts TCP connections on
# ADDR:PORT (default 127.0.0.1).
cv_port_open() {
    (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# cv_proc_alive PID: the process exists and is not a zombie (an exited
# child nobody reaped yet, e.g. when PID 1 is slow to reap orphans).
cv_proc_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

cv_pid_of() { head -n 1 "$1" 2>/dev/null | tr -dc '0-9' || true; }

# cv_pid_running PIDFILE [NAME]: the pid file names a live process whose
# command line contains NAME when given. The NAME check keeps a stale pid
# file from pointing us at an unrelated process that reused the pid.
cv_pid_running() {
    local pidfile=$1 name=${2:-} pid cmd
    [ -s "$pidfile" ] || return 1
    pid=$(cv_pid_of "$pidfile")
    [ -n "$pid" ] && cv_proc_alive "$pid" || return 1
    [ -z "$name" ] && return 0
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$name"* ]]
}

# cv_stop_pid PIDFILE NAME [TIMEOUT]: SIGTERM, wait, then SIGKILL. Our
# daemons are started with setsid, so each leads its own process group; the
# SIGKILL goes to that group so that no orphaned worker survives its master.
# Safe when nothing runs.
cv_stop_pid() {
    local pidfile=$1 name=$2 timeout=${3:-$CV_STOP_TIMEOUT} pid waited=0 pgid
    if ! cv_pid_running "$pidfile" "$name"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(cv_pid_of "$pidfile")
    cv_log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    while cv_pid_running "$pidfile" "$name"; do
        if [ "$waited" -ge $((timeout * 10)) ]; then
            cv_log "$name did not stop in ${timeout}s: SIGKILL"
            pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
            if [ "$pgid" = "$pid" ]; then
                kill -KILL -- "-$pid" 2>/dev/null || true
            else
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 0.2
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    # Reap it if it was started by this shell (no-op otherwise).
    wait "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

# cv_wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s.
cv_wait_for() {
    local seconds=$1 what=$2 i=0
    shift 2
    until "$@"; do
        i=$((i + 1))
        if [ "$i" -ge $((seconds * 10)) ]; then
            cv_log "timed out after ${seconds}s waiting for $what"
            return 1
        fi
        sleep 0.1
    done
}

# Random lowercase hex (for the database password: URI-safe, no quoting).
cv_random_hex() { od -An -tx1 -N"${1:-16}" /dev/urandom | tr -d ' \n'; }

# Quote a value for a shell-sourceable KEY='value' line.
cv_shell_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# ---------------------------------------------------------------------------
# Packages and build
# ---------------------------------------------------------------------------

# cv_install_packages [EXTRA_PACKAGE...]: apt-get install what is missing.
cv_install_packages() {
    local missing=() p sudo=()
    for p in "${CV_PACKAGES[@]}" "$@"; do
        case $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) in
            ii*) ;;
            *) missing+=("$p") ;;
        esac
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! cv_is_root; then
        command -v sudo >/dev/null 2>&1 ||
            cv_die "missing packages: ${missing[*]} (install them as root)"
        sudo=(sudo)
    fi
    cv_log "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        cv_die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null ||
        cv_die "apt-get install failed"
}

# cv_build [CONFIGURE_ARG...]: build certvault in CV_BUILD_DIR (may differ
# from CV_SRC_DIR for an out-of-tree build). configure runs when there is no
# Makefile yet, or when CONFIGURE_ARGs are given and differ from the ones
# the tree was configured with.
cv_build() {
    local want have
    if [ ! -x "$CV_SRC_DIR/configure" ]; then
        cv_log "autoreconf -fi"
        (cd "$CV_SRC_DIR" && autoreconf -fi) || cv_die "autoreconf failed"
    fi
    mkdir -p "$CV_BUILD_DIR"
    if [ -f "$CV_BUILD_DIR/Makefile" ] && [ -x "$CV_BUILD_DIR/config.status" ]; then
        if [ "$#" -gt 0 ]; then
            want=$(printf "'%s' " "$@")
            have=$(cd "$CV_BUILD_DIR" && ./config.status --config)
            [ "${want% }" = "$have" ] || rm -f "$CV_BUILD_DIR/Makefile"
        fi
    fi
    if [ ! -f "$CV_BUILD_DIR/Makefile" ]; then
        cv_log "configure $*"
        (cd "$CV_BUILD_DIR" && "$CV_SRC_DIR/configure" "$@") || cv_die "configure failed"
    fi
    cv_log "make -j$CV_MAKE_JOBS"
    make -C "$CV_BUILD_DIR" -j"$CV_MAKE_JOBS" || cv_die "build failed"
}

# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------

# cv_init STATE_DIR HTTPS_PORT PG_PORT [APACHE_PORT [HTTP_PORT]]: create the
# state directory and set the CV_* path variables every other function uses.
# HTTP_PORT is lighttpd's plain-HTTP listener, which serves only the ACME
# http-01 challenges (/.well-known/acme-challenge/) and redirects the rest
# to https; default HTTPS_PORT - 363 (443 → 80, 8443 → 8080, 18443 → 18080).
# Apache's plain-HTTP port, CV_APACHE_HTTP_PORT, defaults the same way from
# APACHE_PORT. The ports of pebble (cv_pebble_start) may be set before the
# call: CV_PEBBLE_PORT (default 14000), and from it CV_PEBBLE_MGMT_PORT
# (+1000), CV_CHALL_DNS_PORT (+4053), CV_CHALL_MGMT_PORT (+4055) and
# CV_PEBBLE_TLS_PORT (+4056).
# Everything an instance writes stays under STATE_DIR:
#   etc/  config, TLS cert+key, master key, token (0700)
#   run/  sockets, pid files             log/  one log per program
#   pg/   PostgreSQL data and socket     www/  empty document root
#   tmp/  lighttpd request bodies        apache/  Apache runtime files
# Directories are 0711 or 0700: other local users cannot list or read them.
cv_init() {
    [ "$#" -ge 3 ] || cv_die "usage: cv_init STATE_DIR HTTPS_PORT PG_PORT [APACHE_PORT [HTTP_PORT]]"
    mkdir -p "$1" || cv_die "cannot create $1"
    CV_STATE_DIR=$(cd "$1" && pwd)
    CV_HTTPS_PORT=$2
    CV_PG_PORT=$3
    CV_APACHE_PORT=${4:-}
    CV_HTTP_PORT=${5:-$((CV_HTTPS_PORT - 363))}
    if [ -n "$CV_APACHE_PORT" ]; then
        CV_APACHE_HTTP_PORT=${CV_APACHE_HTTP_PORT:-$((CV_APACHE_PORT - 363))}
    else
        CV_APACHE_HTTP_PORT=
    fi
    CV_PEBBLE_PORT=${CV_PEBBLE_PORT:-14000}
    CV_PEBBLE_MGMT_PORT=${CV_PEBBLE_MGMT_PORT:-$((CV_PEBBLE_PORT + 1000))}
    CV_CHALL_DNS_PORT=${CV_CHALL_DNS_PORT:-$((CV_PEBBLE_PORT + 4053))}
    CV_CHALL_MGMT_PORT=${CV_CHALL_MGMT_PORT:-$((CV_PEBBLE_PORT + 4055))}
    CV_PEBBLE_TLS_PORT=${CV_PEBBLE_TLS_PORT:-$((CV_PEBBLE_PORT + 4056))}

    CV_ETC_DIR=$CV_STATE_DIR/etc
    CV_RUN_DIR=$CV_STATE_DIR/run
    CV_LOG_DIR=$CV_STATE_DIR/log
    CV_CONFIG=$CV_ETC_DIR/certvault.conf
    CV_CERT=$CV_ETC_DIR/tls.crt
    CV_KEY=$CV_ETC_DIR/tls.key
    CV_MASTER_KEY=$CV_ETC_DIR/master.key
    CV_TOKEN_FILE=$CV_ETC_DIR/token
    CV_DB_PASSWORD_FILE=$CV_ETC_DIR/db-password
    CV_PGDATA=$CV_STATE_DIR/pg/data
    CV_PG_SOCKDIR=$CV_STATE_DIR/pg/run
    CV_PG_LOG=$CV_LOG_DIR/postgresql.log
    CV_FCGI_SOCKET=$CV_RUN_DIR/certvault.sock
    CV_FCGI_PIDFILE=$CV_RUN_DIR/certvault-fcgi.pid
    CV_WORKER_PIDFILE=$CV_RUN_DIR/certvault-worker.pid
    CV_LIGHTTPD_PIDFILE=$CV_RUN_DIR/lighttpd.pid
    CV_APACHE_PIDFILE=$CV_RUN_DIR/apache.pid
    CV_ENV_FILE=$CV_STATE_DIR/certvault.env
    # lighttpd's address; only cv_node_start renders it with another one.
    CV_BIND_ADDR=127.0.0.1
    CV_URL=https://127.0.0.1:$CV_HTTPS_PORT
    CV_APACHE_URL=${CV_APACHE_PORT:+https://127.0.0.1:$CV_APACHE_PORT}
    CV_HTTP_URL=http://127.0.0.1:$CV_HTTP_PORT
    CV_FCGI_BIN=$CV_BUILD_DIR/src/certvault-fcgi
    CV_WORKER_BIN=$CV_BUILD_DIR/src/certvault-worker
    CV_ADMIN_BIN=$CV_BUILD_DIR/src/certvault-admin
    # pebble (test only): its files live in pebble/ (made by cv_pebble_start).
    CV_PEBBLE_DIR=$CV_STATE_DIR/pebble
    CV_PEBBLE_CA=$CV_PEBBLE_DIR/ca.pem
    CV_PEBBLE_CONFIG=$CV_PEBBLE_DIR/pebble-config.json
    CV_PEBBLE_EAB_KID=certvault-test
    CV_PEBBLE_EAB_KEY_FILE=$CV_PEBBLE_DIR/eab-hmac-key
    CV_PEBBLE_BLOCKLIST=${CV_PEBBLE_BLOCKLIST:-blocked.example}
    CV_PEBBLE_PIDFILE=$CV_RUN_DIR/pebble.pid
    CV_CHALLTESTSRV_PIDFILE=$CV_RUN_DIR/pebble-challtestsrv.pid
    CV_ACME_DNS_HOOK=$CV_SRC_DIR/tests/integration/acme-dns-hook.sh
    CV_ACME_DNS_HOOK_LOG=$CV_LOG_DIR/acme-dns-hook.log
    # Set by cv_pebble_use once pebble is part of this stack (empty until then).
    CV_WITH_PEBBLE=
    CV_ACME_DIRECTORY=
    CV_ACME_CA_FILE=
    CV_PEBBLE_MGMT=
    CV_CHALLTESTSRV=

    # Unix socket paths are limited to 107 bytes.
    local s
    for s in "$CV_PG_SOCKDIR/.s.PGSQL.$CV_PG_PORT.lock" "$CV_FCGI_SOCKET"; do
        [ "${#s}" -le 107 ] ||
            cv_die "socket path too long (${#s} > 107 bytes): $s — use a shorter state directory"
    done

    # 0711: PostgreSQL (root case) and Apache's children must pass through
    # to their own files and to the FastCGI socket, but not list anything.
    chmod 0711 "$CV_STATE_DIR"
    mkdir -p "$CV_ETC_DIR" "$CV_RUN_DIR" "$CV_LOG_DIR" "$CV_STATE_DIR/www" \
        "$CV_STATE_DIR/tmp" "$CV_STATE_DIR/apache/run" "$CV_STATE_DIR/pg"
    chmod 0700 "$CV_ETC_DIR" "$CV_STATE_DIR/tmp"
    chmod 0711 "$CV_RUN_DIR" "$CV_STATE_DIR/apache"
    chmod 0711 "$CV_LOG_DIR" "$CV_STATE_DIR/www"

    CV_DATABASE_URL=
    if [ -s "$CV_DB_PASSWORD_FILE" ]; then cv_set_database_url; fi
}

# cv_load_env ENV_FILE: adopt a running stack described by an env file
# (written by cv_write_env), e.g. from an integration test.
cv_load_env() {
    [ -r "$1" ] || cv_die "cannot read env file $1"
    set -a
    # shellcheck disable=SC1090
    . "$1"
    set +a
    CV_SRC_DIR=$CERTVAULT_SRC_DIR
    CV_BUILD_DIR=$CERTVAULT_BUILD_DIR
    CV_VAULT_HOST=$CERTVAULT_VAULT_HOST
    # Ports of the file win over any left in this shell (empty: the default).
    CV_APACHE_HTTP_PORT=${CERTVAULT_APACHE_HTTP_PORT:-}
    CV_PEBBLE_PORT=${CERTVAULT_PEBBLE_PORT:-}
    CV_PEBBLE_MGMT_PORT=${CERTVAULT_PEBBLE_MGMT_PORT:-}
    CV_CHALL_DNS_PORT=${CERTVAULT_CHALL_DNS_PORT:-}
    CV_CHALL_MGMT_PORT=${CERTVAULT_CHALL_MGMT_PORT:-}
    CV_PEBBLE_TLS_PORT=${CERTVAULT_PEBBLE_TLS_PORT:-}
    CV_PEBBLE_BLOCKLIST=${CERTVAULT_PEBBLE_BLOCKLIST:-}
    cv_init "$CERTVAULT_HOME" "$CERTVAULT_HTTPS_PORT" "$CERTVAULT_PGPORT" "${CERTVAULT_APACHE_PORT:-}" \
        "${CERTVAULT_HTTP_PORT:-}"
    # pebble ran with the stack: the ACME variables, as cv_pebble_start set them.
    if [ -n "${CERTVAULT_ACME_DIRECTORY:-}" ]; then cv_pebble_use; fi
}

# cv_ensure_traversable DIR USER: USER must be able to reach DIR. Adds the
# search (x) bit for others to each parent that lacks it — not read: nothing
# becomes listable. Needed when root runs PostgreSQL as `postgres` under a
# directory like /root.
cv_ensure_traversable() {
    local dir=$1 user=$2 d
    cv_is_root || return 0
    runuser -u "$user" -- test -x "$dir" 2>/dev/null && return 0
    # Walk top-down so that each check sees its parents already fixed.
    local parts=() p
    d=$dir
    while [ "$d" != / ]; do parts=("$d" "${parts[@]}"); d=$(dirname "$d"); done
    for p in "${parts[@]}"; do
        if ! runuser -u "$user" -- test -x "$p" 2>/dev/null; then
            cv_log "chmod o+x $p (so that $user can reach $dir)"
            chmod o+x "$p"
        fi
    done
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------
cv_set_database_url() {
    CV_DATABASE_URL="postgresql://certvault:$(cat "$CV_DB_PASSWORD_FILE")@127.0.0.1:$CV_PG_PORT/certvault"
}

cv_pg_running() {
    local pid
    [ -r "$CV_PGDATA/postmaster.pid" ] || return 1
    pid=$(cv_pid_of "$CV_PGDATA/postmaster.pid")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] &&
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]
}

# Superuser psql over the unix socket (peer authentication).
cv_pg_superuser_psql() {
    cv_as_pg "$(cv_pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$CV_PG_SOCKDIR" -p "$CV_PG_PORT" -U "$(cv_pg_os_user)" -d postgres "$@"
}

# Create the cluster (once), start it on 127.0.0.1:CV_PG_PORT and the socket
# in CV_PG_SOCKDIR, and make sure role and database `certvault` exist.
cv_pg_start() {
    local bindir pguser
    bindir=$(cv_pg_bindir)
    pguser=$(cv_pg_os_user)
    if cv_is_root; then
        cv_ensure_traversable "$CV_STATE_DIR" postgres
        chown postgres: "$CV_STATE_DIR/pg"
    fi
    chmod 0700 "$CV_STATE_DIR/pg"

    if [ ! -s "$CV_PGDATA/PG_VERSION" ]; then
        cv_log "initdb $CV_PGDATA"
        cv_as_pg mkdir -p "$CV_PGDATA" "$CV_PG_SOCKDIR"
        # Authentication: the superuser only over the unix socket as the OS
        # user of the same name (peer); everything over TCP with a password
        # (scram). The app's role gets a random password kept in etc/.
        cv_as_pg "$bindir/initdb" -D "$CV_PGDATA" -U "$pguser" -E UTF8 --no-locale \
            --auth-local=peer --auth-host=scram-sha-256 --no-instructions \
            >"$CV_LOG_DIR/initdb.log" 2>&1 ||
            { cat "$CV_LOG_DIR/initdb.log" >&2; cv_die "initdb failed"; }
        # A throwaway instance: trade durability for speed (no fsync).
        cv_as_pg tee -a "$CV_PGDATA/postgresql.conf" >/dev/null <<EOF

# --- written by scripts/stack.sh (throwaway instance) ---
listen_addresses = '127.0.0.1'
port = $CV_PG_PORT
unix_socket_directories = '$CV_PG_SOCKDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    fi

    if ! cv_pg_running; then
        cv_port_open "$CV_PG_PORT" &&
            cv_die "port $CV_PG_PORT is already in use (another PostgreSQL?)"
        cv_as_pg mkdir -p "$CV_PG_SOCKDIR"
        touch "$CV_PG_LOG"
        cv_is_root && chown postgres: "$CV_PG_LOG"
        cv_log "starting PostgreSQL on 127.0.0.1:$CV_PG_PORT"
        # setsid: Ctrl-C in the terminal must reach run.sh only, which then
        # stops everything in order.
        cv_as_pg setsid "$bindir/pg_ctl" -D "$CV_PGDATA" -l "$CV_PG_LOG" -w -t "$CV_START_TIMEOUT" \
            start >/dev/null ||
            { tail -n 30 "$CV_PG_LOG" >&2; cv_die "PostgreSQL did not start"; }
    fi

    if [ ! -s "$CV_DB_PASSWORD_FILE" ]; then
        (umask 077 && cv_random_hex 16 >"$CV_DB_PASSWORD_FILE")
    fi
    cv_set_database_url
    # Role and database, idempotently; the password is (re)set from etc/ so
    # that the file and the cluster always agree. SQL goes on stdin, not argv.
    cv_pg_superuser_psql <<EOF || cv_die "cannot create the certvault role/database"
SELECT 'CREATE ROLE certvault LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'certvault') \gexec
ALTER ROLE certvault PASSWORD '$(cat "$CV_DB_PASSWORD_FILE")';
SELECT 'CREATE DATABASE certvault OWNER certvault'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'certvault') \gexec
EOF
}

cv_pg_stop() {
    cv_pg_running || return 0
    cv_log "stopping PostgreSQL"
    cv_as_pg "$(cv_pg_bindir)/pg_ctl" -D "$CV_PGDATA" -m fast -w -t "$CV_STOP_TIMEOUT" stop >/dev/null ||
        cv_log "warning: pg_ctl stop failed"
}

# ---------------------------------------------------------------------------
# TLS certificate (self-signed, also the CA file clients trust)
# ---------------------------------------------------------------------------
cv_tls_cert() {
    [ -s "$CV_CERT" ] && [ -s "$CV_KEY" ] && return 0
    cv_log "generating a self-signed TLS certificate"
    cat >"$CV_ETC_DIR/tls.tmpl" <<'EOF'
cn = "localhost"
organization = "certvault development"
dns_name = "localhost"
dns_name = "vault.localhost"
dns_name = "*.vault.localhost"
ip_address = "127.0.0.1"
expiration_days = 365
tls_www_server
signing_key
encryption_key
EOF
    (umask 077 && certtool --generate-privkey --key-type=rsa --bits=2048 \
        --outfile "$CV_KEY") >/dev/null 2>&1 || cv_die "certtool: key generation failed"
    certtool --generate-self-signed --load-privkey "$CV_KEY" \
        --template "$CV_ETC_DIR/tls.tmpl" --outfile "$CV_CERT" >/dev/null 2>&1 ||
        cv_die "certtool: certificate generation failed"
    chmod 0644 "$CV_CERT"
}

# ---------------------------------------------------------------------------
# certvault configuration and first-run data
# ---------------------------------------------------------------------------

# cv_write_config: STATE/etc/certvault.conf. When CV_ACME_CA_FILE_CFG or
# CV_ACME_DNS_HOOK_CFG are set (cv_pebble_start sets both when the caller
# has not), they become acme_ca_file and acme_dns_hook.
cv_write_config() {
    [ -n "$CV_DATABASE_URL" ] || cv_die "cv_write_config: start PostgreSQL first"
    if [ ! -s "$CV_MASTER_KEY" ]; then
        (umask 077 && head -c 32 /dev/urandom >"$CV_MASTER_KEY")
    fi
    local socket_group=
    # Apache drops root to www-data: let it reach the FastCGI socket.
    if cv_is_root && getent group www-data >/dev/null; then socket_group=www-data; fi
    (umask 077 && cat >"$CV_CONFIG" <<EOF
# certvault configuration for a throwaway instance, written by
# scripts/stack.sh (rewritten on every start).
database_url = $CV_DATABASE_URL
log_level = $CV_LOG_LEVEL
workers = $CV_WORKERS
max_requests = 10000
max_body_size = 1048576
shutdown_timeout = 10
worker_interval = 1
master_key_file = $CV_MASTER_KEY
socket_mode = 0660
${socket_group:+socket_group = $socket_group}
${CV_ACME_CA_FILE_CFG:+acme_ca_file = $CV_ACME_CA_FILE_CFG}
${CV_ACME_DNS_HOOK_CFG:+acme_dns_hook = $CV_ACME_DNS_HOOK_CFG}
EOF
    )
}

# certvault-admin with this instance's configuration.
cv_admin() {
    "$CV_ADMIN_BIN" --config "$CV_CONFIG" "$@"
}

# Apply migrations (every start: applied files are skipped), then create the
# demo vault and a token once. The token is kept in etc/token (0600) so that
# a second start reuses it; it is never logged.
cv_bootstrap() {
    [ -x "$CV_ADMIN_BIN" ] || cv_die "$CV_ADMIN_BIN not built"
    cv_admin migrate --sql-dir "$CV_SRC_DIR/sql" >>"$CV_LOG_DIR/admin.log" 2>&1 ||
        { tail -n 20 "$CV_LOG_DIR/admin.log" >&2; cv_die "certvault-admin migrate failed"; }
    # The key that seals every private key at rest (mode 0600, never
    # overwritten: losing it loses every key).
    if [ ! -e "$CV_MASTER_KEY" ]; then
        cv_admin master-key create "$CV_MASTER_KEY" >>"$CV_LOG_DIR/admin.log" 2>&1 ||
            { tail -n 20 "$CV_LOG_DIR/admin.log" >&2; cv_die "certvault-admin master-key create failed"; }
    fi
    if [ ! -e "$CV_ETC_DIR/vault-created" ]; then
        cv_admin vault create "$CV_VAULT_NAME" --host "$CV_VAULT_HOST" >>"$CV_LOG_DIR/admin.log" 2>&1 ||
            { tail -n 20 "$CV_LOG_DIR/admin.log" >&2; cv_die "certvault-admin vault create failed"; }
        touch "$CV_ETC_DIR/vault-created"
    fi
    if [ ! -s "$CV_TOKEN_FILE" ]; then
        local token
        token=$(cv_admin token create --vault "$CV_VAULT_NAME" --name stack.sh 2>>"$CV_LOG_DIR/admin.log") ||
            { tail -n 20 "$CV_LOG_DIR/admin.log" >&2; cv_die "certvault-admin token create failed"; }
        [[ $token =~ ^cv_[0-9a-f]{64}$ ]] ||
            cv_die "certvault-admin token create printed no token (expected cv_ + 64 hex)"
        (umask 077 && printf '%s\n' "$token" >"$CV_TOKEN_FILE")
    fi
    CV_TOKEN=$(cat "$CV_TOKEN_FILE")
}

# ---------------------------------------------------------------------------
# certvault-fcgi and certvault-worker
# ---------------------------------------------------------------------------

# cv_daemon LOG COMMAND...: start COMMAND in the background in its own
# session (setsid: a terminal's Ctrl-C then reaches only the script, whose
# trap stops everything in order), stdin from /dev/null, output appended to
# LOG. setsid execs in place (a background job is no group leader), so the
# pid is the program's. Sets CV_LAST_PID.
cv_daemon() {
    local log=$1
    shift
    setsid "$@" >>"$log" 2>&1 </dev/null &
    CV_LAST_PID=$!
}

# cv_daemon_started PID PIDFILE NAME LOG READY_COMMAND...: wait until
# READY_COMMAND succeeds or the process dies; then insist it is alive and
# ready. The program writes its own pid file; if it did not, write the pid
# we know, so that stopping works anyway.
cv_daemon_started() {
    local pid=$1 pidfile=$2 name=$3 log=$4 i=0
    shift 4
    until "$@"; do
        if ! cv_proc_alive "$pid"; then
            wait "$pid" 2>/dev/null || true
            tail -n 30 "$log" >&2
            cv_die "$name exited during start (log: $log)"
        fi
        i=$((i + 1))
        if [ "$i" -ge $((CV_START_TIMEOUT * 10)) ]; then
            tail -n 30 "$log" >&2
            kill -TERM "$pid" 2>/dev/null || true
            cv_die "$name not ready after ${CV_START_TIMEOUT}s (log: $log)"
        fi
        sleep 0.1
    done
    i=0
    while [ ! -s "$pidfile" ] && [ "$i" -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$pidfile" ] || echo "$pid" >"$pidfile"
}

# cv_fcgi_start [SOCKET [PIDFILE [LOG [EXTRA_ARG...]]]]: certvault-fcgi on
# its own unix socket (defaults: this instance's). Extra arguments, e.g.
# --workers 1, let a test start a second private instance the same way.
cv_fcgi_start() {
    local sock=${1:-$CV_FCGI_SOCKET} pidfile=${2:-$CV_FCGI_PIDFILE} log=${3:-$CV_LOG_DIR/certvault-fcgi.log}
    shift $(($# < 3 ? $# : 3))
    cv_pid_running "$pidfile" certvault-fcgi && return 0
    [ -x "$CV_FCGI_BIN" ] || cv_die "$CV_FCGI_BIN not built"
    rm -f "$sock" # stale socket of a crashed run: nothing listens on it
    cv_log "starting certvault-fcgi on unix:$sock"
    cv_daemon "$log" \
        "$CV_FCGI_BIN" --config "$CV_CONFIG" --listen "unix:$sock" --pid-file "$pidfile" "$@"
    cv_daemon_started "$CV_LAST_PID" "$pidfile" certvault-fcgi "$log" test -S "$sock"
}

cv_fcgi_stop() {
    # certvault-fcgi waits up to shutdown_timeout (10 s) for its workers.
    cv_stop_pid "${1:-$CV_FCGI_PIDFILE}" certvault-fcgi "$CV_STOP_TIMEOUT"
    [ -n "${1:-}" ] || rm -f "$CV_FCGI_SOCKET"
}

# cv_worker_start [PIDFILE [LOG]]
cv_worker_start() {
    local pidfile=${1:-$CV_WORKER_PIDFILE} log=${2:-$CV_LOG_DIR/certvault-worker.log}
    cv_pid_running "$pidfile" certvault-worker && return 0
    [ -x "$CV_WORKER_BIN" ] || cv_die "$CV_WORKER_BIN not built"
    cv_log "starting certvault-worker"
    cv_daemon "$log" "$CV_WORKER_BIN" --config "$CV_CONFIG" --pid-file "$pidfile"
    # Ready once it has written its pid file (it has parsed its arguments
    # and configuration by then).
    cv_daemon_started "$CV_LAST_PID" "$pidfile" certvault-worker "$log" test -s "$pidfile"
}

cv_worker_stop() {
    cv_stop_pid "${1:-$CV_WORKER_PIDFILE}" certvault-worker "$CV_STOP_TIMEOUT"
}

# ---------------------------------------------------------------------------
# Web servers
# ---------------------------------------------------------------------------

# cv_render_template IN OUT: replace @NAME@ placeholders with this
# instance's values; refuse to leave any placeholder unreplaced.
cv_render_template() {
    local in=$1 out=$2 args=() kv k v left
    local apache_user apache_group
    if cv_is_root; then
        apache_user=${CV_APACHE_USER:-www-data}
        apache_group=${CV_APACHE_GROUP:-www-data}
    else
        apache_user=$(id -un)
        apache_group=$(id -gn)
    fi
    for kv in \
        "STATE_DIR=$CV_STATE_DIR" \
        "BIND_ADDR=${CV_BIND_ADDR:-127.0.0.1}" \
        "HTTPS_PORT=$CV_HTTPS_PORT" \
        "HTTP_PORT=$CV_HTTP_PORT" \
        "APACHE_PORT=$CV_APACHE_PORT" \
        "APACHE_HTTP_PORT=$CV_APACHE_HTTP_PORT" \
        "FCGI_SOCKET=$CV_FCGI_SOCKET" \
        "FCGI_BIN=$CV_FCGI_BIN" \
        "CONFIG=$CV_CONFIG" \
        "WORKERS=$CV_WORKERS" \
        "CERT=$CV_CERT" \
        "KEY=$CV_KEY" \
        "APACHE_USER=$apache_user" \
        "APACHE_GROUP=$apache_group" \
        "APACHE_MODULES=${CV_APACHE_MODULES:-/usr/lib/apache2/modules}"; do
        k=${kv%%=*}
        v=${kv#*=}
        # Escape what is special in a sed replacement (we use | as delimiter).
        v=$(printf '%s' "$v" | sed 's/[\\|&]/\\&/g')
        args+=(-e "s|@$k@|$v|g")
    done
    sed "${args[@]}" "$in" >"$out" || cv_die "cannot render $in"
    left=$(grep -o '@[A-Z_]*@' "$out" | sort -u | tr '\n' ' ') || true
    [ -z "$left" ] || cv_die "$in: unknown placeholders: $left"
}

# cv_both_open PORT PORT [ADDR]: both TCP ports accept connections on ADDR
# (default 127.0.0.1).
cv_both_open() { cv_port_open "$1" "${3:-}" && cv_port_open "$2" "${3:-}"; }

# cv_lighttpd_start [TEMPLATE]: lighttpd with TLS on CV_BIND_ADDR:CV_HTTPS_PORT
# and plain HTTP (ACME http-01 challenges only) on CV_BIND_ADDR:CV_HTTP_PORT
# (CV_BIND_ADDR is 127.0.0.1 but for cv_node_start's nodes;
# default template: apache-conf/lighttpd.conf.in), in the foreground (-D)
# in its own session, as the invoking user. A template without
# @HTTP_PORT@ (lighttpd-spawn.conf.in) is waited for on the HTTPS port only.
cv_lighttpd_start() {
    local tmpl=${1:-$CV_SRC_DIR/apache-conf/lighttpd.conf.in}
    local conf=$CV_ETC_DIR/lighttpd.conf log=$CV_LOG_DIR/lighttpd.out
    local addr=${CV_BIND_ADDR:-127.0.0.1}
    cv_pid_running "$CV_LIGHTTPD_PIDFILE" lighttpd && return 0
    cv_render_template "$tmpl" "$conf"
    lighttpd -tt -f "$conf" >>"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; cv_die "lighttpd rejects $conf"; }
    cv_port_open "$CV_HTTPS_PORT" "$addr" && cv_die "port $addr:$CV_HTTPS_PORT is already in use"
    local http_port=$CV_HTTPS_PORT note=
    if grep -q '@HTTP_PORT@' "$tmpl"; then
        http_port=$CV_HTTP_PORT note=" and http://$addr:$CV_HTTP_PORT (http-01 only)"
        cv_port_open "$http_port" "$addr" && cv_die "port $addr:$http_port is already in use"
    fi
    cv_log "starting lighttpd on https://$addr:$CV_HTTPS_PORT$note"
    cv_daemon "$log" lighttpd -D -f "$conf"
    cv_daemon_started "$CV_LAST_PID" "$CV_LIGHTTPD_PIDFILE" lighttpd "$log" \
        cv_both_open "$CV_HTTPS_PORT" "$http_port" "$addr"
}

cv_lighttpd_stop() {
    cv_stop_pid "$CV_LIGHTTPD_PIDFILE" lighttpd "$CV_STOP_TIMEOUT"
}

# cv_apache_start [TEMPLATE]: a private Apache (mod_proxy_fcgi → the same
# certvault-fcgi socket) on 127.0.0.1:CV_APACHE_PORT, and plain HTTP (ACME
# http-01 challenges only) on 127.0.0.1:CV_APACHE_HTTP_PORT, for the tests.
cv_apache_start() {
    local tmpl=${1:-$CV_SRC_DIR/apache-conf/apache-test.conf.in}
    local conf=$CV_ETC_DIR/apache.conf log=$CV_LOG_DIR/apache.out
    [ -n "$CV_APACHE_PORT" ] || cv_die "cv_apache_start: no Apache port given to cv_init"
    cv_pid_running "$CV_APACHE_PIDFILE" apache2 && return 0
    cv_render_template "$tmpl" "$conf"
    apache2 -t -f "$conf" >>"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; cv_die "apache2 rejects $conf"; }
    cv_port_open "$CV_APACHE_PORT" && cv_die "port $CV_APACHE_PORT is already in use"
    local http_port=$CV_APACHE_PORT note=
    if grep -q '@APACHE_HTTP_PORT@' "$tmpl"; then
        http_port=$CV_APACHE_HTTP_PORT note=" and http://127.0.0.1:$http_port (http-01 only)"
        cv_port_open "$http_port" && cv_die "port $http_port is already in use"
    fi
    cv_log "starting Apache on https://127.0.0.1:$CV_APACHE_PORT$note"
    cv_daemon "$log" apache2 -f "$conf" -DFOREGROUND
    cv_daemon_started "$CV_LAST_PID" "$CV_APACHE_PIDFILE" apache2 "$log" \
        cv_both_open "$CV_APACHE_PORT" "$http_port"
}

cv_apache_stop() {
    cv_stop_pid "$CV_APACHE_PIDFILE" apache2 "$CV_STOP_TIMEOUT"
}

# ---------------------------------------------------------------------------
# pebble: a test ACME CA (RFC 8555) for certvault-worker's ACME issuer
# ---------------------------------------------------------------------------
# Test only (test.sh: cv_stack_start --pebble); run.sh never starts it.
#   pebble-challtestsrv  fake DNS on 127.0.0.1:CV_CHALL_DNS_PORT (udp+tcp):
#                        every A query answers 127.0.0.1, no AAAA; TXT
#                        records come from its management API on
#                        CV_CHALLTESTSRV (POST /set-txt, /clear-txt), which
#                        the dns-01 hook tests/integration/acme-dns-hook.sh
#                        calls. Its own challenge servers are disabled.
#   pebble               ACME directory CV_ACME_DIRECTORY (TLS certificate
#                        signed by the test CA CV_ACME_CA_FILE), management
#                        API CV_PEBBLE_MGMT (GET /roots/0: the root that signs
#                        what pebble issues; it changes at every start). It
#                        resolves names with the fake DNS and validates
#                        http-01 on 127.0.0.1:CV_HTTP_PORT, i.e. through
#                        lighttpd's plain-HTTP listener to certvault-fcgi.
# Environment of pebble: PEBBLE_VA_NOSLEEP=1 (no random 0-15 s sleep before
# each validation). PEBBLE_WFE_NONCEREJECT is removed on purpose: pebble
# then rejects 5 % of good nonces with badNonce, so the client's retry is
# exercised on every run. PEBBLE_AUTHZREUSE too: at its default (50 %) a new
# order of an account may get an authorization that is already valid.
# CV_PEBBLE_BLOCKLIST (default "blocked.example") is pebble's domainBlocklist:
# a newOrder naming it (or a name under it) gets 400
# urn:ietf:params:acme:error:rejectedIdentifier. External account binding
# is optional; the key id CV_PEBBLE_EAB_KID with the base64url HMAC key in
# CV_PEBBLE_EAB_KEY_FILE is accepted.

# cv_pebble_use: the ACME variables of this stack, and what cv_write_config
# puts into certvault's configuration (unless the caller set them).
cv_pebble_use() {
    CV_WITH_PEBBLE=1
    CV_ACME_DIRECTORY=https://127.0.0.1:$CV_PEBBLE_PORT/dir
    CV_ACME_CA_FILE=$CV_PEBBLE_CA
    CV_PEBBLE_MGMT=https://127.0.0.1:$CV_PEBBLE_MGMT_PORT
    CV_CHALLTESTSRV=http://127.0.0.1:$CV_CHALL_MGMT_PORT
    export CV_ACME_DIRECTORY CV_ACME_CA_FILE CV_PEBBLE_MGMT CV_CHALLTESTSRV CV_HTTP_PORT
    CV_ACME_CA_FILE_CFG=${CV_ACME_CA_FILE_CFG:-$CV_ACME_CA_FILE}
    # certvault-worker runs it with /bin/sh -c: the hook learns where the
    # fake DNS and its log are from these assignments.
    CV_ACME_DNS_HOOK_CFG=${CV_ACME_DNS_HOOK_CFG:-CV_CHALLTESTSRV=$(cv_shell_quote "$CV_CHALLTESTSRV") CV_ACME_DNS_HOOK_LOG=$(cv_shell_quote "$CV_ACME_DNS_HOOK_LOG") /bin/sh $(cv_shell_quote "$CV_ACME_DNS_HOOK")}
}

# cv_pebble_certs: once per state directory, a test CA and pebble's TLS
# certificate (localhost, 127.0.0.1) signed by it; and the EAB HMAC key.
cv_pebble_certs() {
    local d=$CV_PEBBLE_DIR
    if [ ! -s "$d/ca.pem" ] || [ ! -s "$d/tls.crt" ] || [ ! -s "$d/tls.key" ]; then
        cv_log "generating pebble's test CA and TLS certificate"
        printf '%s\n' 'cn = "certvault test ACME server CA"' \
            'organization = "certvault tests"' ca cert_signing_key crl_signing_key \
            'expiration_days = 3650' >"$d/ca.tmpl"
        printf '%s\n' 'cn = "localhost"' 'organization = "certvault tests"' \
            'dns_name = "localhost"' 'ip_address = "127.0.0.1"' \
            'expiration_days = 3650' tls_www_server signing_key >"$d/tls.tmpl"
        (umask 077 &&
            certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
                --outfile "$d/ca.key" &&
            certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
                --outfile "$d/tls.key") >/dev/null 2>&1 ||
            cv_die "certtool: key generation failed"
        if ! certtool --generate-self-signed --load-privkey "$d/ca.key" \
            --template "$d/ca.tmpl" --outfile "$d/ca.pem" >/dev/null 2>&1 ||
            ! certtool --generate-certificate --load-privkey "$d/tls.key" \
                --load-ca-certificate "$d/ca.pem" --load-ca-privkey "$d/ca.key" \
                --template "$d/tls.tmpl" --outfile "$d/tls.crt" >/dev/null 2>&1; then
            cv_die "certtool: certificate generation failed"
        fi
        chmod 0644 "$d/ca.pem" "$d/tls.crt"
    fi
    if [ ! -s "$CV_PEBBLE_EAB_KEY_FILE" ]; then
        (umask 077 && head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' \
            >"$CV_PEBBLE_EAB_KEY_FILE")
    fi
}

# cv_pebble_write_config: pebble's JSON configuration (rewritten on every
# start, so that port changes take effect).
cv_pebble_write_config() {
    local blocked
    # shellcheck disable=SC2086  # a list of names
    blocked=$(printf '%s\n' $CV_PEBBLE_BLOCKLIST | jq -R . | jq -cs .) ||
        cv_die "cannot write pebble's configuration (jq)"
    (umask 077 && jq -n \
        --arg listen "127.0.0.1:$CV_PEBBLE_PORT" \
        --arg mgmt "127.0.0.1:$CV_PEBBLE_MGMT_PORT" \
        --arg cert "$CV_PEBBLE_DIR/tls.crt" \
        --arg key "$CV_PEBBLE_DIR/tls.key" \
        --argjson http "$CV_HTTP_PORT" \
        --argjson tls "$CV_PEBBLE_TLS_PORT" \
        --arg kid "$CV_PEBBLE_EAB_KID" \
        --arg hmac "$(cat "$CV_PEBBLE_EAB_KEY_FILE")" \
        --argjson blocked "$blocked" \
        '{pebble: {
            listenAddress: $listen,
            managementListenAddress: $mgmt,
            certificate: $cert,
            privateKey: $key,
            httpPort: $http,
            tlsPort: $tls,
            ocspResponderURL: "",
            externalAccountBindingRequired: false,
            externalAccountMACKeys: {($kid): $hmac},
            domainBlocklist: $blocked}}' >"$CV_PEBBLE_CONFIG.tmp" &&
        mv -f "$CV_PEBBLE_CONFIG.tmp" "$CV_PEBBLE_CONFIG") ||
        cv_die "cannot write $CV_PEBBLE_CONFIG"
}

# cv_pebble_start: pebble-challtestsrv (ready when its management and DNS
# TCP ports accept), then pebble (ready when cv_pebble_ready). Safe to call
# again while they run.
cv_pebble_start() {
    local log=$CV_LOG_DIR/pebble.log clog=$CV_LOG_DIR/pebble-challtestsrv.log
    if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
        cv_die "pebble is not installed (Debian package pebble)"
    fi
    cv_pebble_use
    mkdir -p "$CV_PEBBLE_DIR"
    chmod 0711 "$CV_PEBBLE_DIR"
    cv_pebble_certs
    # For the dns-01 hook when it runs without CV_CHALLTESTSRV.
    printf '%s\n' "$CV_CHALLTESTSRV" >"$CV_PEBBLE_DIR/challtestsrv-url"
    if ! cv_pid_running "$CV_CHALLTESTSRV_PIDFILE" pebble-challtestsrv; then
        cv_port_open "$CV_CHALL_MGMT_PORT" && cv_die "port $CV_CHALL_MGMT_PORT is already in use"
        cv_port_open "$CV_CHALL_DNS_PORT" && cv_die "port $CV_CHALL_DNS_PORT is already in use"
        cv_log "starting pebble-challtestsrv (DNS 127.0.0.1:$CV_CHALL_DNS_PORT, management $CV_CHALLTESTSRV)"
        cv_daemon "$clog" pebble-challtestsrv \
            -dns01 "127.0.0.1:$CV_CHALL_DNS_PORT" \
            -management "127.0.0.1:$CV_CHALL_MGMT_PORT" \
            -http01 "" -https01 "" -tlsalpn01 "" \
            -defaultIPv4 127.0.0.1 -defaultIPv6 ""
        echo "$CV_LAST_PID" >"$CV_CHALLTESTSRV_PIDFILE"
        cv_daemon_started "$CV_LAST_PID" "$CV_CHALLTESTSRV_PIDFILE" pebble-challtestsrv "$clog" \
            cv_both_open "$CV_CHALL_MGMT_PORT" "$CV_CHALL_DNS_PORT"
    fi
    if ! cv_pid_running "$CV_PEBBLE_PIDFILE" pebble; then
        cv_pebble_write_config
        cv_port_open "$CV_PEBBLE_PORT" && cv_die "port $CV_PEBBLE_PORT is already in use"
        cv_port_open "$CV_PEBBLE_MGMT_PORT" && cv_die "port $CV_PEBBLE_MGMT_PORT is already in use"
        cv_log "starting pebble on $CV_ACME_DIRECTORY (management $CV_PEBBLE_MGMT, http-01 port $CV_HTTP_PORT)"
        # The same behaviour on every run, whatever the caller's environment.
        cv_daemon "$log" env -u PEBBLE_WFE_NONCEREJECT -u PEBBLE_AUTHZREUSE \
            -u PEBBLE_VA_ALWAYS_VALID -u PEBBLE_VA_SLEEPTIME -u PEBBLE_CHAIN_LENGTH \
            -u PEBBLE_ALTERNATE_ROOTS PEBBLE_VA_NOSLEEP=1 \
            pebble -config "$CV_PEBBLE_CONFIG" -dnsserver "127.0.0.1:$CV_CHALL_DNS_PORT"
        echo "$CV_LAST_PID" >"$CV_PEBBLE_PIDFILE"
        cv_daemon_started "$CV_LAST_PID" "$CV_PEBBLE_PIDFILE" pebble "$log" cv_pebble_ready
    fi
}

# cv_pebble_ready: the directory and the root answer over TLS that the test
# CA vouches for (a bare TCP probe would make pebble log handshake errors).
cv_pebble_ready() {
    curl -sf -o /dev/null --max-time 2 --cacert "$CV_PEBBLE_CA" "$CV_ACME_DIRECTORY" 2>/dev/null &&
        curl -sf -o /dev/null --max-time 2 --cacert "$CV_PEBBLE_CA" "$CV_PEBBLE_MGMT/roots/0" 2>/dev/null
}

cv_pebble_stop() {
    cv_stop_pid "$CV_PEBBLE_PIDFILE" pebble "$CV_STOP_TIMEOUT"
    cv_stop_pid "$CV_CHALLTESTSRV_PIDFILE" pebble-challtestsrv "$CV_STOP_TIMEOUT"
}

# ---------------------------------------------------------------------------
# Whole stack
# ---------------------------------------------------------------------------

# cv_http_status URL: HTTP status of a GET, trusting this instance's cert.
cv_http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$CV_CERT" "$1" 2>/dev/null || true
}

cv_healthy() { [ "$(cv_http_status "$1/healthz")" = 200 ]; }

# cv_wait_healthy [URL]: GET /healthz answers 200 (through the web server,
# certvault-fcgi and PostgreSQL).
cv_wait_healthy() {
    local url=${1:-$CV_URL}
    cv_wait_for "$CV_START_TIMEOUT" "$url/healthz" cv_healthy "$url" && return 0
    cv_show_logs
    cv_die "$url/healthz answered $(cv_http_status "$url/healthz"), not 200"
}

# cv_write_env [FILE]: the shell-sourceable description of this instance
# (docs/internals.md); mode 0600 because it holds the token.
cv_write_env() {
    local file=${1:-$CV_ENV_FILE} kv
    (
        umask 077
        for kv in \
            "CERTVAULT_URL=$CV_URL" \
            "CERTVAULT_TOKEN=${CV_TOKEN:-}" \
            "CERTVAULT_CA=$CV_CERT" \
            "CERTVAULT_DATABASE_URL=$CV_DATABASE_URL" \
            "CERTVAULT_HOME=$CV_STATE_DIR" \
            "CERTVAULT_BUILD_DIR=$CV_BUILD_DIR" \
            "CERTVAULT_SRC_DIR=$CV_SRC_DIR" \
            "CERTVAULT_CONFIG=$CV_CONFIG" \
            "CERTVAULT_FCGI_SOCKET=$CV_FCGI_SOCKET" \
            "CERTVAULT_FCGI_PIDFILE=$CV_FCGI_PIDFILE" \
            "CERTVAULT_WORKER_PIDFILE=$CV_WORKER_PIDFILE" \
            "CERTVAULT_LIGHTTPD_PIDFILE=$CV_LIGHTTPD_PIDFILE" \
            "CERTVAULT_PGDATA=$CV_PGDATA" \
            "CERTVAULT_PGPORT=$CV_PG_PORT" \
            "CERTVAULT_HTTPS_PORT=$CV_HTTPS_PORT" \
            "CERTVAULT_VAULT_NAME=$CV_VAULT_NAME" \
            "CERTVAULT_VAULT_HOST=$CV_VAULT_HOST" \
            "CERTVAULT_APACHE_PORT=$CV_APACHE_PORT" \
            "CERTVAULT_APACHE_URL=$CV_APACHE_URL" \
            "CERTVAULT_APACHE_PIDFILE=${CV_APACHE_PORT:+$CV_APACHE_PIDFILE}" \
            "CERTVAULT_HTTP_PORT=$CV_HTTP_PORT" \
            "CERTVAULT_HTTP_URL=$CV_HTTP_URL" \
            "CERTVAULT_APACHE_HTTP_PORT=$CV_APACHE_HTTP_PORT" \
            "CERTVAULT_ACME_DIRECTORY=$CV_ACME_DIRECTORY" \
            "CERTVAULT_ACME_CA_FILE=$CV_ACME_CA_FILE" \
            "CERTVAULT_PEBBLE_MGMT=$CV_PEBBLE_MGMT" \
            "CERTVAULT_CHALLTESTSRV=$CV_CHALLTESTSRV" \
            "CERTVAULT_ACME_DNS_HOOK=${CV_WITH_PEBBLE:+$CV_ACME_DNS_HOOK}" \
            "CERTVAULT_ACME_DNS_HOOK_LOG=${CV_WITH_PEBBLE:+$CV_ACME_DNS_HOOK_LOG}" \
            "CERTVAULT_PEBBLE_PORT=${CV_WITH_PEBBLE:+$CV_PEBBLE_PORT}" \
            "CERTVAULT_PEBBLE_MGMT_PORT=${CV_WITH_PEBBLE:+$CV_PEBBLE_MGMT_PORT}" \
            "CERTVAULT_CHALL_DNS_PORT=${CV_WITH_PEBBLE:+$CV_CHALL_DNS_PORT}" \
            "CERTVAULT_CHALL_MGMT_PORT=${CV_WITH_PEBBLE:+$CV_CHALL_MGMT_PORT}" \
            "CERTVAULT_PEBBLE_TLS_PORT=${CV_WITH_PEBBLE:+$CV_PEBBLE_TLS_PORT}" \
            "CERTVAULT_PEBBLE_PIDFILE=${CV_WITH_PEBBLE:+$CV_PEBBLE_PIDFILE}" \
            "CERTVAULT_CHALLTESTSRV_PIDFILE=${CV_WITH_PEBBLE:+$CV_CHALLTESTSRV_PIDFILE}" \
            "CERTVAULT_PEBBLE_CONFIG=${CV_WITH_PEBBLE:+$CV_PEBBLE_CONFIG}" \
            "CERTVAULT_PEBBLE_BLOCKLIST=${CV_WITH_PEBBLE:+$CV_PEBBLE_BLOCKLIST}" \
            "CERTVAULT_PEBBLE_EAB_KID=${CV_WITH_PEBBLE:+$CV_PEBBLE_EAB_KID}" \
            "CERTVAULT_PEBBLE_EAB_KEY_FILE=${CV_WITH_PEBBLE:+$CV_PEBBLE_EAB_KEY_FILE}"; do
            printf '%s=%s\n' "${kv%%=*}" "$(cv_shell_quote "${kv#*=}")"
        done >"$file.tmp"
        mv -f "$file.tmp" "$file"
    )
}

# cv_stack_start [--apache] [--pebble]: everything, in order; safe to call
# again while it runs (each piece checks its pid file first). Writes
# CV_ENV_FILE. --pebble (tests) starts pebble before certvault's
# configuration is written, so that it names pebble's CA and the dns-01 hook.
cv_stack_start() {
    local with_apache='' with_pebble='' arg
    for arg in "$@"; do
        case $arg in
            --apache) with_apache=1 ;;
            --pebble) with_pebble=1 ;;
            *) cv_die "cv_stack_start: unknown option $arg" ;;
        esac
    done
    cv_pg_start
    cv_tls_cert
    if [ -n "$with_pebble" ]; then cv_pebble_start; fi
    cv_write_config
    cv_bootstrap
    cv_fcgi_start
    cv_worker_start
    cv_lighttpd_start
    if [ -n "$with_apache" ]; then cv_apache_start; fi
    cv_write_env
    cv_wait_healthy "$CV_URL"
    if [ -n "$with_apache" ]; then cv_wait_healthy "$CV_APACHE_URL"; fi
}

# cv_stack_stop: everything, in reverse order; never fails, safe when
# nothing runs.
cv_stack_stop() {
    [ -n "${CV_STATE_DIR:-}" ] || return 0
    cv_apache_stop || true
    cv_lighttpd_stop || true
    cv_worker_stop || true
    cv_fcgi_stop || true
    cv_pebble_stop || true
    cv_pg_stop || true
}

# cv_stack_running: every started piece is still alive (Apache, pebble and
# pebble-challtestsrv count only when their pid files exist). Otherwise lists the dead ones in CV_DEAD.
cv_stack_running() {
    CV_DEAD=
    cv_pg_running || CV_DEAD+=" postgresql"
    cv_pid_running "$CV_FCGI_PIDFILE" certvault-fcgi || CV_DEAD+=" certvault-fcgi"
    cv_pid_running "$CV_WORKER_PIDFILE" certvault-worker || CV_DEAD+=" certvault-worker"
    cv_pid_running "$CV_LIGHTTPD_PIDFILE" lighttpd || CV_DEAD+=" lighttpd"
    if [ -e "$CV_APACHE_PIDFILE" ]; then
        cv_pid_running "$CV_APACHE_PIDFILE" apache2 || CV_DEAD+=" apache2"
    fi
    if [ -e "$CV_PEBBLE_PIDFILE" ]; then
        cv_pid_running "$CV_PEBBLE_PIDFILE" pebble || CV_DEAD+=" pebble"
    fi
    if [ -e "$CV_CHALLTESTSRV_PIDFILE" ]; then
        cv_pid_running "$CV_CHALLTESTSRV_PIDFILE" pebble-challtestsrv || CV_DEAD+=" pebble-challtestsrv"
    fi
    [ -z "$CV_DEAD" ]
}

# cv_show_logs [LINES]: the end of every log of this instance, to stderr.
cv_show_logs() {
    local f
    for f in "$CV_LOG_DIR"/*.log "$CV_LOG_DIR"/*.out; do
        [ -s "$f" ] || continue
        printf '\n===== %s (last %s lines) =====\n' "$f" "${1:-40}" >&2
        tail -n "${1:-40}" "$f" >&2
    done
}

# ---------------------------------------------------------------------------
# Extra nodes: more certvault on the same database (scale-out)
# ---------------------------------------------------------------------------
# A node is what one machine of a cluster runs: lighttpd, a certvault-fcgi
# master with its workers, and a certvault-worker. cv_node_start starts one
# beside the stack this shell describes (cv_init or cv_load_env; its
# PostgreSQL running), on a loopback address of its own: Linux answers every
# address of 127.0.0.0/8 on lo without any setup, so nodes on 127.0.0.2 and
# 127.0.0.3 may use the stack's own port numbers, and a client then sends
# the same Host header to whichever node it reaches, as behind a load
# balancer (ids are built from the Host header: README, Several nodes).
#
# A node shares the stack's configuration file, so the same database_url
# and the same master key file: every node must have the same master key
# (and the same master_key_previous_files), or it cannot open what the
# others sealed and seals what they cannot open; on separate machines copy
# the key file byte for byte. It shares the TLS certificate too, whose names
# are localhost, *.vault.localhost and 127.0.0.1: reach a node by name, e.g.
#   curl --resolve demo.vault.localhost:18443:127.0.0.2 https://demo.vault.localhost:18443/…
# What is the node's own lives under NODE_DIR:
#   etc/lighttpd.conf  run/  certvault.sock, certvault-fcgi.pid,
#                            certvault-worker.pid, lighttpd.pid
#   log/  certvault-fcgi.log, certvault-worker.log, lighttpd.out, lighttpd-error.log
#   www/ tmp/  lighttpd's empty document root and request bodies
# The stack's cv_stack_stop does not know its nodes: stop them first.

# cv_node_healthy ADDR PORT: the node's GET /healthz answers 200 (by the
# certificate's name localhost, resolved to ADDR).
cv_node_healthy() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$CV_CERT" \
        --resolve "localhost:$2:$1" "https://localhost:$2/healthz" 2>/dev/null)" = 200 ]
}

# cv_node_start NODE_DIR BIND_ADDR HTTPS_PORT [HTTP_PORT]: start a node
# (HTTP_PORT, lighttpd's plain-HTTP listener for ACME http-01: default
# HTTPS_PORT - 363, as cv_init) and wait until its /healthz answers 200.
# Safe to call again while it runs (each piece checks its pid file first).
cv_node_start() {
    [ "$#" -ge 3 ] || cv_die "usage: cv_node_start NODE_DIR BIND_ADDR HTTPS_PORT [HTTP_PORT]"
    { [ -n "${CV_STATE_DIR:-}" ] && [ -s "$CV_CONFIG" ]; } ||
        cv_die "cv_node_start: no stack here (cv_init or cv_load_env, and cv_stack_start)"
    cv_pg_running || cv_die "cv_node_start: the stack's PostgreSQL is not running"
    mkdir -p "$1" || cv_die "cannot create $1"
    local node
    node=$(cd "$1" && pwd)
    # What the lighttpd functions and the template read, for this node
    # only: locals shadow the stack's globals in the functions called from
    # here (bash's dynamic scope); the caller's values stay the stack's.
    local CV_BIND_ADDR=$2 CV_HTTPS_PORT=$3 CV_HTTP_PORT=${4:-$(($3 - 363))}
    local CV_STATE_DIR=$node CV_ETC_DIR=$node/etc CV_LOG_DIR=$node/log
    local CV_FCGI_SOCKET=$node/run/certvault.sock CV_LIGHTTPD_PIDFILE=$node/run/lighttpd.pid
    [ "${#CV_FCGI_SOCKET}" -le 107 ] ||
        cv_die "socket path too long (${#CV_FCGI_SOCKET} > 107 bytes): $CV_FCGI_SOCKET — use a shorter node directory"
    chmod 0711 "$node"
    mkdir -p "$node/etc" "$node/run" "$node/log" "$node/www" "$node/tmp"
    chmod 0700 "$node/etc" "$node/tmp"
    chmod 0711 "$node/run" "$node/log" "$node/www"
    cv_fcgi_start "$CV_FCGI_SOCKET" "$node/run/certvault-fcgi.pid" "$node/log/certvault-fcgi.log"
    cv_worker_start "$node/run/certvault-worker.pid" "$node/log/certvault-worker.log"
    cv_lighttpd_start
    if ! cv_wait_for "$CV_START_TIMEOUT" "node $node /healthz" cv_node_healthy "$CV_BIND_ADDR" "$CV_HTTPS_PORT"; then
        cv_show_logs
        cv_die "node $node (https://$CV_BIND_ADDR:$CV_HTTPS_PORT) is not healthy"
    fi
    cv_log "node $node up: https://$CV_BIND_ADDR:$CV_HTTPS_PORT (Host: $CV_VAULT_HOST:$CV_HTTPS_PORT)"
}

# cv_node_stop NODE_DIR: stop a node's lighttpd, certvault-worker and
# certvault-fcgi; never fails, safe when nothing runs.
cv_node_stop() {
    [ -n "${1:-}" ] && [ -d "$1" ] || return 0
    cv_stop_pid "$1/run/lighttpd.pid" lighttpd "$CV_STOP_TIMEOUT" || true
    cv_worker_stop "$1/run/certvault-worker.pid" || true
    cv_fcgi_stop "$1/run/certvault-fcgi.pid" || true
    rm -f "$1/run/certvault.sock"
}

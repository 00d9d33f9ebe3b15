#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory as an
# unprivileged user (PostgreSQL refuses to run as root), on a free loopback port.
#
#   eval "$(tests/pg/cluster.sh start)"   # prints the variables the tests read
#   tests/pg/cluster.sh stop "$WORKSPACE_NOTIFIER_TEST_PGDATA"
#
# WORKSPACE_NOTIFIER_TEST_POSTGRES is a superuser URL (trust on loopback); the tests make a
# fresh database per test with it. The role `wn_password` may only log in with its password
# ("wn-secret", SCRAM), for the tests of the password sources. WORKSPACE_NOTIFIER_TEST_PG_CTL
# runs pg_ctl on the cluster (the restart test uses it).
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u wn-test-pg -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    if [ "$(id -u)" = 0 ] && ! id wn-test-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin wn-test-pg
    fi
    dir=$(mktemp -d /tmp/wn-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown wn-test-pg "$dir"
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >"$dir/data/pg_hba.conf" <<HBA
host all wn_password 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
local all all trust
HBA
    # In the file, not on the command line, so that a plain `pg_ctl start` (the restart
    # test) brings the same server back. Durability is not what these tests measure.
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 400
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
    "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
        -c "CREATE ROLE wn_password LOGIN CREATEDB PASSWORD 'wn-secret'" >/dev/null
    pg_ctl="$bindir/pg_ctl -D $dir/data -l $dir/log -w"
    [ "$(id -u)" = 0 ] && pg_ctl="runuser -u wn-test-pg -- $pg_ctl"
    echo "export WORKSPACE_NOTIFIER_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export WORKSPACE_NOTIFIER_TEST_PGDATA=$dir"
    echo "export WORKSPACE_NOTIFIER_TEST_PG_CTL='$pg_ctl'"
    ;;
stop)
    dir=${2:?usage: cluster.sh stop DIR}
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: cluster.sh start | stop DIR" >&2
    exit 2
    ;;
esac

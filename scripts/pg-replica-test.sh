#!/usr/bin/env bash
# Creates a throwaway PostgreSQL primary and a hot standby cloned from it
# with pg_basebackup -R, runs the replica tests against the pair, and
# removes both clusters whatever happens. Needs root (pg_createcluster) and
# the PostgreSQL server packages; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

ver="$(ls /etc/postgresql | sort -n | tail -1)"
tag="jfrepl$$"
primary="${tag}p"
standby="${tag}s"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
pport="$(free_port)"
sport="$(free_port)"
while [ "$sport" = "$pport" ]; do sport="$(free_port)"; done

cleanup() {
	pg_dropcluster --stop "$ver" "$standby" >/dev/null 2>&1 || true
	pg_dropcluster --stop "$ver" "$primary" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "replica: primary $ver/$primary on $pport, standby $ver/$standby on $sport"
# Trust on loopback for the test only; initdb's --auth also covers the
# replication connections pg_basebackup and the standby make.
pg_createcluster -q "$ver" "$primary" -p "$pport" -- --auth=trust >/dev/null
cat >"/etc/postgresql/$ver/$primary/pg_hba.conf" <<EOF
local all all trust
local replication all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
EOF
pg_ctlcluster --skip-systemctl-redirect "$ver" "$primary" start

pg_createcluster -q "$ver" "$standby" -p "$sport" -- --auth=trust >/dev/null
cp "/etc/postgresql/$ver/$primary/pg_hba.conf" "/etc/postgresql/$ver/$standby/pg_hba.conf"
data="/var/lib/postgresql/$ver/$standby"
find "$data" -mindepth 1 -delete
runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p "$pport" -U postgres -D "$data" -R -X stream -c fast
pg_ctlcluster --skip-systemctl-redirect "$ver" "$standby" start

for _ in $(seq 1 30); do
	if [ "$(psql -h 127.0.0.1 -p "$sport" -U postgres -qtAc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = "t" ]; then
		break
	fi
	sleep 1
done
psql -h 127.0.0.1 -p "$pport" -U postgres -qc 'CREATE DATABASE jifen'

export JIFEN_TEST_REPLICA_PRIMARY="postgres://postgres@127.0.0.1:$pport/jifen?sslmode=disable"
export JIFEN_TEST_REPLICA_STANDBY="postgres://postgres@127.0.0.1:$sport/jifen?sslmode=disable"
export JIFEN_TEST_REPLICA_CLUSTER="$ver $standby"
# The database created after the base backup reaches the standby by WAL.
for _ in $(seq 1 30); do
	psql "$JIFEN_TEST_REPLICA_STANDBY" -qtAc 'SELECT 1' >/dev/null 2>&1 && break
	sleep 1
done
go test -count=1 -run '^TestReplica$' -v ./cmd/jifen/ "$@"

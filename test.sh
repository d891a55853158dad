#!/usr/bin/env bash
# Runs every check and test of Gatehouse. CI (.ci/run) runs exactly this.
#
# It installs what the tests need when it is missing (as root, with apt-get)
# and starts any service the tests need itself; nothing has to be running.
# With CI=true, tests that need a real component fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\n== %s\n' "$*"; }

need_pkg() { # need_pkg COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing $2"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; }
	fi
}

need_pkg bash bash
# PostgreSQL server binaries: internal/pgtest starts a throwaway cluster
# from them (as the postgres user, in a temp dir, on a loopback port) and
# stops it; nothing has to be running.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
	need_pkg pg_ctlcluster postgresql
	# The package's own cluster is not used by the tests; stop it.
	if command -v pg_ctlcluster >/dev/null 2>&1; then
		for c in /etc/postgresql/*/main; do
			[ -d "$c" ] && pg_ctlcluster "$(basename "$(dirname "$c")")" main stop >/dev/null 2>&1 || true
		done
	fi
fi

log "gofmt"
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

log "go vet"
go vet ./...

log "staticcheck"
go tool staticcheck ./...

log "go test -race"
go test -race -count=1 ./...

log "policy examples"
go run ./cmd/gatehouse policy test

log "all tests passed"

#!/usr/bin/env bash
# Recompute benchmark on PostgreSQL: a synthetic cohort of PERSONS people,
# all consented and genotyped with results of the built-in PGx version; a
# new version is activated and 2 `geneguard worker` processes (nice 10, each
# in its own session with its autogroup at nice 10 too; see startWorker)
# recompute everyone while the clinical API is read at RPS requests/s on
# loopback. Prints persons/s and the API's p50/p90/p99 before and during.
#
# usage: bench/recompute/run.sh [PERSONS]   (default 200000)
# env:   GENEGUARD_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
#        RPS (default 50), WORKER_NICE (default 10), IN_PROCESS=1 to run the workers in the test process
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${GENEGUARD_TEST_POSTGRES:=postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export GENEGUARD_TEST_POSTGRES
export GENEGUARD_RECOMPUTE_BENCH=1
export GENEGUARD_RECOMPUTE_PERSONS=${1:-200000}
export GENEGUARD_RECOMPUTE_RPS=${RPS:-50}
export GENEGUARD_WORKER_NICE=${WORKER_NICE:-10}
if [ -z "${IN_PROCESS:-}" ]; then
  bin=$(mktemp -d)/geneguard
  go build -o "$bin" ./cmd/geneguard
  export GENEGUARD_BIN=$bin
fi
go test -count=1 -v -timeout 120m -run '^TestRecompute$' ./bench/recompute 2>&1 | grep -v 'started with'

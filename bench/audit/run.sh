#!/usr/bin/env bash
# Audit log benchmark on PostgreSQL:
#  1. sustained appends per second: one event per transaction through
#     tx.Audit from several goroutines, with the sequencer running as in
#     serve/worker (every 200ms) and a checkpoint signed every second
#     meanwhile (RUNS runs). An event counts once it is sequenced (sealed/s);
#     appends/s (the actions' commits alone) and the largest pending
#     backlog are printed too, to show the sequencer keeps up;
#  2. receipt (inclusion proof from stored subtree hashes + self-check)
#     time at growing log sizes, and the leaves-only proof for comparison;
#  3. a PROJECTION (not a measurement) of both to 10 million events:
#     receipt time fitted as a + b·log2(n), leaves-only as a + b·n, and the
#     cost of a first checkpoint over 10M events from the measured
#     per-event signing cost.
#
# usage: bench/audit/run.sh [SIZES]    (default 1000,10000,100000,1000000)
# env:   GENEGUARD_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
#        APPEND_TIME (default 20s), RUNS (default 5), CHECKPOINT_EVERY (default 1s),
#        SEQUENCE_EVERY (default 200ms), PARALLEL (goroutines per CPU, default 4)
# The machine is shared and small: compare the best and the median of the runs.
# Each run uses a fresh schema, dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${GENEGUARD_TEST_POSTGRES:=postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export GENEGUARD_TEST_POSTGRES
export GENEGUARD_AUDIT_BENCH_SIZES=${1:-1000,10000,100000,1000000}
export GENEGUARD_AUDIT_BENCH_EVERY=${CHECKPOINT_EVERY:-1s}
export GENEGUARD_AUDIT_BENCH_SEQUENCE_EVERY=${SEQUENCE_EVERY:-200ms}
runs=${RUNS:-5}
export GENEGUARD_AUDIT_BENCH_PARALLEL=${PARALLEL:-4}
export GENEGUARD_AUDIT_BENCH_LEAFONLY_MAX=${LEAFONLY_MAX:-100000}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== appends (${APPEND_TIME:-20s} x $runs, sequencer every $GENEGUARD_AUDIT_BENCH_SEQUENCE_EVERY, checkpoint every $GENEGUARD_AUDIT_BENCH_EVERY, $GENEGUARD_AUDIT_BENCH_PARALLEL goroutines/CPU, $(nproc) CPUs)"
go test -run '^$' -bench 'BenchmarkAppend/postgres' -benchtime "${APPEND_TIME:-20s}" -count "$runs" -timeout 60m ./bench/audit | tee -a "$out" | grep Benchmark
echo "== baseline: the same appends with no checkpointing (the sequencer still runs)"
GENEGUARD_AUDIT_BENCH_EVERY=1000h go test -run '^$' -bench 'BenchmarkAppend/postgres' -benchtime "${APPEND_TIME:-20s}" -count "$runs" -timeout 60m ./bench/audit |
  sed 's#^BenchmarkAppend/postgres#BaselineAppend/postgres#' | tee -a "$out" | grep Append
echo "== receipts at sizes $GENEGUARD_AUDIT_BENCH_SIZES"
go test -run '^$' -bench 'BenchmarkReceipt/postgres' -benchtime 2s -timeout 120m ./bench/audit | tee -a "$out" | grep Benchmark

awk '
function fit(n, xs, ys,   i, sx, sy, sxy, sxx) {
  sx = sy = sxy = sxx = 0
  for (i = 1; i <= n; i++) { sx += xs[i]; sy += ys[i]; sxy += xs[i]*ys[i]; sxx += xs[i]*xs[i] }
  if (n < 2 || n*sxx - sx*sx == 0) { B = 0; A = (n ? sy/n : 0); return }
  B = (n*sxy - sx*sy) / (n*sxx - sx*sx); A = (sy - B*sx) / n
}
# stats sorts xs[1..n] and prints best, median and worst.
function stats(n, xs,   i, j, t, med) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && xs[j-1] > xs[j]; j--) { t = xs[j]; xs[j] = xs[j-1]; xs[j-1] = t }
  med = (n % 2) ? xs[(n+1)/2] : (xs[n/2] + xs[n/2+1]) / 2
  return sprintf("best %.0f, median %.0f, worst %.0f over %d runs", xs[n], med, xs[1], n)
}
/^BenchmarkAppend\/postgres/ {
  for (i = 1; i <= NF; i++) {
    if ($(i+1) == "sealed/s") a[++na] = $i
    if ($(i+1) == "appends/s") ap[++nap] = $i
    if ($(i+1) == "max-pending" && $i > maxpend) maxpend = $i
  }
}
/^BaselineAppend\/postgres/ {
  for (i = 1; i <= NF; i++) if ($(i+1) == "sealed/s") ba[++nba] = $i
}
/^BenchmarkReceipt\/postgres\/nodes\/size=/ {
  split($1, p, "="); s = p[2]; sub(/-[0-9]+$/, "", s)
  for (i = 1; i <= NF; i++) { if ($(i+1) == "ns/op") ms = $i/1e6; if ($(i+1) == "sign-ms") sg = $i }
  nn++; nx[nn] = log(s)/log(2); ny[nn] = ms; ns[nn] = s; nsg[nn] = sg
}
/^BenchmarkReceipt\/postgres\/leaves\/size=/ {
  split($1, p, "="); s = p[2]; sub(/-[0-9]+$/, "", s)
  for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") ms = $i/1e6
  nl++; lx[nl] = s; ly[nl] = ms
}
END {
  print ""
  print "== summary (PostgreSQL)"
  if (na) {
    printf "sustained appends, sealed (sequenced), with periodic checkpoints: %s (events/s)\n", stats(na, a)
    printf "  commits of the actions alone:                                   %s (appends/s)\n", stats(nap, ap)
    printf "  largest pending backlog seen at a checkpoint tick: %d events\n", maxpend
  }
  if (nba) printf "baseline, no checkpointing, sealed:                              %s (events/s)\n", stats(nba, ba)
  print ""
  printf "%12s %14s %16s %18s\n", "events", "receipt ms", "leaves-only ms", "checkpoint µs/new event"
  prev = 0
  for (i = 1; i <= nn; i++) {
    l = "-"
    for (j = 1; j <= nl; j++) if (lx[j] == ns[i]) l = sprintf("%.2f", ly[j])
    printf "%12d %14.3f %16s %18.1f\n", ns[i], ny[i], l, nsg[i]*1000/(ns[i]-prev)
    per = nsg[i]*1000/(ns[i]-prev); prev = ns[i]
  }
  N = 10000000
  print ""
  print "PROJECTED to 10,000,000 events (extrapolated from the sizes above, not measured):"
  if (nn) {
    fit(nn, nx, ny); proj = A + B*log(N)/log(2); hi = 0
    for (i = 1; i <= nn; i++) if (ny[i] > hi) hi = ny[i]
    if (proj < hi) proj = hi  # never project below what was measured
    printf "  receipt from stored subtree hashes: %.2f ms  (fit %.3f + %.4f·log2 n ms, floored at the largest measured)\n", proj, A, B
  }
  if (nl) { fit(nl, lx, ly); printf "  inclusion proof from leaves only:   %.0f ms  (fit %.3f + %.3g·n ms)\n", A + B*N, A, B }
  if (nn) printf "  first checkpoint over a 10M log with no stored state: %.0f s (%.1f µs/event); later checkpoints cost only the new events\n", per*N/1e6, per
  printf "  stored subtree hashes: about %d rows (n/128, 32-byte hashes)\n", N/128
}' "$out"

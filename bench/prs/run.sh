#!/usr/bin/env bash
# Benchmark `geneguard score` against `plink2 --score` on the same bgzipped
# VCF: N samples × M variants of plink2 --dummy genotypes (1% missing), one
# score over every variant with the effect allele on REF or ALT at random.
#
# usage: bench/prs/run.sh [N] [M] [WORKDIR]     (defaults 10000 100000 /tmp/gg-prs-bench)
# Needs plink2, bgzip-free (plink2 writes bgzf itself), awk, python3, /usr/bin/time.
# Prints both wall times, peak RSS, the ratio, and whether the sums agree.
set -euo pipefail
N=${1:-10000}
M=${2:-100000}
W=${3:-/tmp/gg-prs-bench}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$W"
cd "$W"

if [ ! -s "dummy_${N}x${M}.vcf.gz" ]; then
  echo "generating ${N} samples x ${M} variants ..." >&2
  plink2 --silent --dummy "$N" "$M" 0.01 acgt --seed 7 --make-pgen --out raw
  # --dummy puts every variant at chr1 position 0..M-1; VCF positions are
  # 1-based, so shift them by one.
  awk 'BEGIN{OFS="\t"} /^#/ {print; next} {$2=$2+1; $3="v"$2; print}' raw.pvar > raw.pvar.tmp && mv raw.pvar.tmp raw.pvar
  plink2 --silent --pfile raw --export vcf bgz --out "dummy_${N}x${M}"
  rm -f raw.pgen raw.pvar raw.psam
fi
VCF="dummy_${N}x${M}.vcf.gz"

if [ ! -s score.txt ]; then
  # The same weights in both formats: a PGS Catalog file for geneguard and
  # an ID/allele/weight file for plink2.
  zcat "$VCF" | awk -v seed=11 'BEGIN{OFS="\t"; srand(seed);
      print "#pgs_id=BENCH" > "score.txt"; print "#genome_build=NR" >> "score.txt";
      print "chr_name","chr_position","effect_allele","other_allele","effect_weight" >> "score.txt";
      print "ID","A1","W" > "plink_score.txt"}
    /^#/ {next}
    { w=sprintf("%.6f", rand()-0.5); if (rand()<0.5) {ea=$4; oa=$5} else {ea=$5; oa=$4}
      print $1,$2,ea,oa,w >> "score.txt"; print $3,ea,w >> "plink_score.txt" }'
fi

GG=$W/geneguard
(cd "$ROOT" && go build -o "$GG" ./cmd/geneguard)

t() { /usr/bin/time -f "%e %M" -o "$1.time" "${@:2}"; }
t plink2 plink2 --silent --threads "$(nproc)" --vcf "$VCF" --score plink_score.txt 1 2 3 header no-mean-imputation cols=+scoresums --out plink
t gg "$GG" score -q --vcf "$VCF" --scores score.txt --format tsv > gg.tsv

python3 - <<'EOF'
import csv
p = {}
for r in csv.DictReader(open('plink.sscore'), delimiter='\t'):
    col = [k for k in r if k.endswith('_SUM') and k != 'NAMED_ALLELE_DOSAGE_SUM'][0]
    p[r['#IID']] = float(r[col])
bad = 0; worst = 0.0; n = 0
for r in csv.DictReader(open('gg.tsv'), delimiter='\t'):
    n += 1
    e = p[r['sample']]; g = float(r['sum'])
    err = abs(g - e) / max(1.0, abs(e)); worst = max(worst, err)
    # plink2 prints 6 significant digits
    if err > 1e-5: bad += 1
pt, pr = open('plink2.time').read().split()
gt, gr = open('gg.time').read().split()
print(f"samples {n}, sums agree within 1e-5: {n-bad}/{n} (worst {worst:.1e}); matched {r['variants_matched']}/{r['variants_total']}")
print(f"plink2 --score : {float(pt):7.2f} s wall, {int(pr)/1024:7.0f} MB peak RSS")
print(f"geneguard score: {float(gt):7.2f} s wall, {int(gr)/1024:7.0f} MB peak RSS")
print(f"ratio geneguard/plink2: {float(gt)/float(pt):.2f} (target <= 0.5)")
EOF

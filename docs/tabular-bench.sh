#!/usr/bin/env bash
# Tabular pruning and Laplace against the diagonal baseline (issue 16), on two data sets that ship in the Debian package
# python3-sklearn (BSD-3-Clause; apt-get install -y python3-sklearn): breast_cancer.csv (569 x 30, 2 classes; the
# Wisconsin diagnostic breast cancer data) and diabetes_data_raw.csv.gz + diabetes_target.csv.gz (442 x 10, a real target;
# Efron et al. 2004). Nothing downloads. Each data set is shuffled with a fixed random source and split into training and
# test files; then symcurv trains an MLP (CSV features standardized by a NormalizerStandardize stored in the model zip,
# regression targets too), prunes it to 50/80/90% sparsity with OBS on the symmetry-averaged Fisher, OBS on the diagonal
# Fisher and magnitude, and fits a Laplace posterior over all weights with the symmetry-averaged and the diagonal Fisher.
# Usage: docs/tabular-bench.sh [OUT_DIR]   (default reports/tabular; SETS="diabetes" for one set); prints every command's output.
set -euo pipefail
# one OpenMP thread: these networks are tiny, and on a shared 2-core machine more threads only contend (10x slower measured)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
out=${1:-reports/tabular}
data=/usr/lib/python3/dist-packages/sklearn/datasets/data
symcurv=${SYMCURV:-"$(dirname "$(readlink -f "$0")")/../bin/symcurv"}
mkdir -p "$out"
if [ ! -f "$data/breast_cancer.csv" ]; then
  echo "needs the Debian package python3-sklearn (apt-get install -y python3-sklearn)" >&2
  exit 1
fi
tail -n +2 "$data/breast_cancer.csv" | shuf --random-source=<(yes 7) > "$out/bc-all.csv"
head -n 400 "$out/bc-all.csv" > "$out/breast-cancer-train.csv"
tail -n +401 "$out/bc-all.csv" > "$out/breast-cancer-test.csv"
paste -d' ' <(zcat "$data/diabetes_data_raw.csv.gz") <(zcat "$data/diabetes_target.csv.gz") | shuf --random-source=<(yes 7) > "$out/db-all.csv"
head -n 342 "$out/db-all.csv" > "$out/diabetes-train.csv"
tail -n +343 "$out/db-all.csv" > "$out/diabetes-test.csv"

run() { echo "\$ symcurv $*"; "$symcurv" "$@"; echo; }

for set in ${SETS:-breast-cancer diabetes}; do
  src=(--train "$out/$set-train.csv" --test "$out/$set-test.csv")
  task=()
  if [ "$set" = diabetes ]; then src+=(--csv-delimiter ' '); task=(--task regression); fi
  run train "${src[@]}" "${task[@]}" --hidden 32,32 --epochs 60 --batch 32 --seed 1 --out "$out/$set-model.zip" --force --no-progress
  for s in 0.5 0.8 0.9; do
    for m in obs obs-diagonal magnitude; do
      run prune "${src[@]}" --model "$out/$set-model.zip" --method $m --sparsity $s --fisher-examples 400 --seed 1 \
        --out "$out/$set-$m-$s.zip" --force --no-progress
    done
  done
  for structure in symmetry diagonal; do
    run laplace "${src[@]}" --model "$out/$set-model.zip" --structure $structure --prior marglik --seed 1 \
      --out "$out/$set-$structure.scv" --force --no-progress
    run evaluate "${src[@]}" --model "$out/$set-model.zip" --posterior "$out/$set-$structure.scv" --seed 1 \
      --json "$out/$set-$structure.json" --force
  done
done

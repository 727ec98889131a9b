#!/usr/bin/env bash
# rnnkit train's default job against the same job in PyTorch (../shared/anchors/torch_charlm.py: same model,
# batches, optimizer), run alternately, ROUNDS times each, on 1 and 2 threads; prints characters per second
# per run and the median ratio of each rnnkit backend to PyTorch at the same thread count.
#   scripts/e2e-train.sh PYTHON [ROUNDS] [BACKENDS]
# PYTHON is a Python with torch (e.g. a virtualenv: python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch);
# ROUNDS defaults to 3, BACKENDS to "native". AVX2=1 caps both sides at AVX2 on an AVX-512 machine (rnnkit:
# -XX:UseAVX=2, the native avx2 kernels and OpenBLAS's Haswell core; PyTorch: ATen, MKL and oneDNN at AVX2).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 PYTHON [ROUNDS] [BACKENDS]" >&2
  exit 2
fi
PY=$1 ROUNDS=${2:-3} BACKENDS=${3:-native}
ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
ANCHOR=${ANCHOR:-$ROOT/../shared/anchors/torch_charlm.py}
CORPUS=/usr/share/common-licenses
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
TORCH_ENV=() JAVA_OPTS="" BLAS_ENV=()
if [ "${AVX2:-0}" = 1 ]; then
  TORCH_ENV=(ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2)
  JAVA_OPTS="-XX:UseAVX=2 -Drnnkit.native.kernels=avx2"
  BLAS_ENV=(OPENBLAS_CORETYPE=Haswell)
fi
"$ROOT/rnnkit" train --help >/dev/null 2>&1 # builds once, outside the timings

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for threads in 1 2; do
  for round in $(seq "$ROUNDS"); do
    env "${TORCH_ENV[@]}" "$PY" "$ANCHOR" "$CORPUS" "$threads" 2>/dev/null \
      | sed -n 's/.*: \([0-9,]*\) chars\/s.*/\1/p' | tr -d , >> "$OUT/torch.$threads"
    for b in $BACKENDS; do
      env "${BLAS_ENV[@]}" RNNKIT_JAVA_OPTS="$JAVA_OPTS" \
        "$ROOT/rnnkit" train --backend "$b" --threads "$threads" --sample-every 0 --out "$OUT/ckpt.safetensors" 2>&1 \
        | sed -n 's/^step \([0-9]*\)\/\1 .*  \([0-9,]*\) chars\/s.*/\2/p' | tr -d , >> "$OUT/$b.$threads"
    done
  done
  t=$(median < "$OUT/torch.$threads")
  echo "threads $threads: PyTorch $(tr '\n' ' ' < "$OUT/torch.$threads")-> median $t chars/s"
  for b in $BACKENDS; do
    m=$(median < "$OUT/$b.$threads")
    echo "threads $threads: rnnkit $b $(tr '\n' ' ' < "$OUT/$b.$threads")-> median $m chars/s, $(awk -v a="$m" -v b="$t" 'BEGIN { printf "%.2fx", a / b }') PyTorch"
  done
done

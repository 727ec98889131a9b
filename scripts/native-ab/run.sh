#!/bin/sh
# A/B of two builds of the native kernels (AVX2) inside the native forward pass, alternating in one process.
#   sh scripts/native-ab/run.sh [B_KERNELS.c|"" [INPUT HIDDEN T B ROUNDS]]
# A is rnn-native-jni/src/main/c/rk_kernels.c as it is; B is the file given, or by default the same kernels
# with sigmoid and tanh replaced by copies (what RESULTS.md's "activations stubbed" figures ran).
# Needs only gcc; nothing is installed. Default size: S3 (LSTM 256/256, T 50, B 64), 40 rounds.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC="$HERE/../../rnn-native-jni/src/main/c"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
B_SRC=""
if [ $# -ge 1 ]; then B_SRC=$1; shift; fi
if [ -z "$B_SRC" ]; then
  B_SRC="$OUT/no_activations.c"
  sed -e 's/^ACT_N(sigmoid_n, sigmoid_w)$/static void sigmoid_n(const float *s, float *d, int n) { if (s != d) memcpy(d, s, sizeof(float) * n); (void)sigmoid_w; }/' \
      -e 's/^ACT_N(tanh_n, tanh_w)$/static void tanh_n(const float *s, float *d, int n) { if (s != d) memcpy(d, s, sizeof(float) * n); (void)tanh_w; }/' \
      "$SRC/rk_kernels.c" > "$B_SRC"
  grep -q '(void)sigmoid_w' "$B_SRC" && grep -q '(void)tanh_w' "$B_SRC" || { echo "run.sh: could not stub the activations" >&2; exit 1; }
fi
F="-O2 -ffp-contract=off -std=gnu11 -I$SRC"
cc=${CC:-gcc}
$cc $F -c "$SRC/rk_driver.c" -o "$OUT/driver.o"
$cc $F -pthread -c "$SRC/rk_pool.c" -o "$OUT/pool.o"
$cc $F -DRK_ISA_AVX2 -mavx2 -mfma -c "$SRC/rk_kernels.c" -o "$OUT/a.o"
$cc $F -DRK_ISA_AVX2 -mavx2 -mfma -c "$B_SRC" -o "$OUT/b.o"
objcopy --redefine-sym rk_ops_avx2=OPS_A "$OUT/a.o"
objcopy --redefine-sym rk_ops_avx2=OPS_B "$OUT/b.o"
# the driver's table of the other instruction sets is not called; the baseline build satisfies the linker
$cc $F -c "$SRC/rk_kernels.c" -o "$OUT/generic.o"
$cc $F -DRK_ISA_AVX512 -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma -c "$SRC/rk_kernels.c" -o "$OUT/avx512.o"
$cc $F "$HERE/forward_ab.c" "$OUT/driver.o" "$OUT/pool.o" "$OUT/a.o" "$OUT/b.o" "$OUT/generic.o" "$OUT/avx512.o" \
  -o "$OUT/forward_ab" -lm -pthread
if [ $# -ge 5 ]; then "$OUT/forward_ab" "$@"; else "$OUT/forward_ab" 256 256 50 64 40; fi

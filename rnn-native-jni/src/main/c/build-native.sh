#!/bin/sh
# Builds librnnkit.so, the native backend's JNI library, from the C sources beside this script.
# Run by Maven (exec-maven-plugin, phase process-classes); by hand:
#   sh src/main/c/build-native.sh SRC_DIR HEADER_DIR OBJ_DIR OUT.so [JDK_HOME ...]
# HEADER_DIR holds the JNI header javac -h wrote; jni.h comes from the first JDK_HOME (or $JAVA_HOME) that
# has include/jni.h. The kernels are compiled once per instruction set (AVX-512, AVX2+FMA, x86-64
# baseline) and chosen at run time; nothing is compiled with -march=native.
set -eu
SRC=$1 HDR=$2 OBJ=$3 OUT=$4
shift 4
CC=${CC:-gcc}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "rnn-native-jni: the C compiler '$CC' was not found. The native backend is built from C sources with gcc" >&2
  echo "rnn-native-jni: (Debian/Ubuntu: apt-get install gcc), or skip it with -Drnnkit.native.skipBuild=true." >&2
  exit 1
fi
JNI=""
for j in "$@" "${JAVA_HOME:-}"; do
  if [ -n "$j" ] && [ -f "$j/include/jni.h" ]; then JNI="$j/include"; break; fi
done
if [ -z "$JNI" ]; then
  echo "rnn-native-jni: no include/jni.h in the JDKs given ($*) nor in JAVA_HOME=${JAVA_HOME:-}: a full JDK is needed." >&2
  exit 1
fi
# Up to date? (every source and the generated header older than the library)
if [ -f "$OUT" ]; then
  stale=$(find "$SRC" "$HDR" -newer "$OUT" \( -name '*.c' -o -name '*.h' -o -name '*.sh' \) -print | head -n 1)
  if [ -z "$stale" ]; then echo "rnn-native-jni: $OUT is up to date"; exit 0; fi
fi
mkdir -p "$OBJ" "$(dirname "$OUT")"
FLAGS="-O2 -fPIC -Wall -Wextra -Werror -ffp-contract=off -fvisibility=hidden -std=gnu11"
INC="-I$JNI -I$JNI/linux -I$HDR -I$SRC"
set -x
"$CC" $FLAGS $INC -c "$SRC/rk_jni.c" -o "$OBJ/rk_jni.o"
"$CC" $FLAGS $INC -c "$SRC/rk_driver.c" -o "$OBJ/rk_driver.o"
"$CC" $FLAGS $INC -pthread -c "$SRC/rk_pool.c" -o "$OBJ/rk_pool.o"
"$CC" $FLAGS $INC -DRK_ISA_AVX512 -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma -c "$SRC/rk_kernels.c" -o "$OBJ/rk_kernels_avx512.o"
"$CC" $FLAGS $INC -DRK_ISA_AVX2 -mavx2 -mfma -c "$SRC/rk_kernels.c" -o "$OBJ/rk_kernels_avx2.o"
"$CC" $FLAGS $INC -c "$SRC/rk_kernels.c" -o "$OBJ/rk_kernels_generic.o"
"$CC" -shared -pthread -Wl,--no-undefined -Wl,-z,noexecstack -o "$OUT" "$OBJ/rk_jni.o" "$OBJ/rk_driver.o" "$OBJ/rk_pool.o" \
  "$OBJ/rk_kernels_avx512.o" "$OBJ/rk_kernels_avx2.o" "$OBJ/rk_kernels_generic.o" -ldl -lm

#!/usr/bin/env bash
# Builds the "before" side of an A/B measured in one process: the jars of rnnkit at COMMIT, for the paired
# benchmarks' `before:NAME[:T]` contenders (rnn-bench, org.rnnkit.bench.paired.Baseline).
#   scripts/ab-baseline.sh COMMIT DIR
# COMMIT is checked out into a temporary git worktree, built there with `mvn package -DskipTests` (JAVA_HOME's
# JDK; use the one the current build uses), and the jars of rnn-api, rnn-tck, rnn-cpu-scalar, rnn-cpu-vector,
# rnn-native-jni and rnn-bench (its classes only) are copied into DIR, which is emptied of jars first;
# DIR/baseline.properties says what they are. The worktree is removed again. Nothing is installed into
# ~/.m2: that would replace the SNAPSHOT artifacts the current tree's build resolves.
# Then, e.g.: ./rnnkit jmh PairedBenchmark -p scenario=S1 -p contenders=native+before:native \
#   -jvmArgsPrepend -Drnnkit.bench.baseline=DIR          (see scripts/README.md)
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 COMMIT DIR   (e.g. $0 6036810 /tmp/ab-baseline)" >&2
  exit 2
fi
COMMIT=$1 DIR=$2
ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
SHA=$(git -C "$ROOT" rev-parse --verify --quiet "$COMMIT^{commit}") || {
  echo "ab-baseline: '$COMMIT' is not a commit of $ROOT" >&2
  exit 2
}
command -v mvn >/dev/null 2>&1 || { echo "ab-baseline: Maven (mvn) is needed" >&2; exit 2; }
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JDK_VERSION=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p')
[ -n "$JDK_VERSION" ] || { echo "ab-baseline: no JDK found (set JAVA_HOME)" >&2; exit 2; }
# Maven's bundled Guava calls sun.misc.Unsafe, which JDK 23+ warns about on every build (as ./rnnkit does).
case "$JDK_VERSION" in
  2[3-9]*|[3-9][0-9]*) export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" ;;
esac

TMP=$(mktemp -d)
WT="$TMP/src"
cleanup() {
  git -C "$ROOT" worktree remove --force "$WT" 2>/dev/null || true
  rm -rf "$TMP"
  git -C "$ROOT" worktree prune
}
trap cleanup EXIT
git -C "$ROOT" worktree add --detach --quiet "$WT" "$SHA"
echo "ab-baseline: building $(git -C "$WT" log -1 --format='%h %s') with JDK $JDK_VERSION ..." >&2
# Only the modules the benchmark needs (-am builds rnn-bench's rnnkit dependencies in the reactor).
# Maven 3.8 prints colour resets even in batch mode: stripped, as ./rnnkit does.
(cd "$WT" && mvn -B -q -Dstyle.color=never -DskipTests package -pl rnn-bench -am) 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2

mkdir -p "$DIR"
rm -f "$DIR"/*.jar
for m in rnn-api rnn-tck rnn-cpu-scalar rnn-cpu-vector rnn-native-jni; do
  jar=$(find "$WT/$m/target" -maxdepth 1 -name "$m-*.jar" ! -name '*-sources.jar' ! -name '*-tests.jar' \
    ! -name '*-javadoc.jar' -print)
  [ "$(printf '%s\n' "$jar" | grep -c .)" -eq 1 ] || { echo "ab-baseline: expected one jar of $m, found: $jar" >&2; exit 1; }
  cp "$jar" "$DIR/$m.jar"
done
cp "$WT/rnn-bench/target/rnn-bench.jar" "$DIR/rnn-bench.jar"
"${JAVA_HOME:+$JAVA_HOME/bin/}jar" tf "$DIR/rnn-native-jni.jar" | grep 'linux-x86_64/librnnkit.so' >/dev/null || {
  echo "ab-baseline: $DIR/rnn-native-jni.jar has no librnnkit.so (was the native build skipped?)" >&2
  exit 1
}
cat > "$DIR/baseline.properties" <<EOF
# written by scripts/ab-baseline.sh
commit=$SHA
subject=$(git -C "$WT" log -1 --format=%s)
jdk=$JDK_VERSION
EOF
echo "ab-baseline: $DIR holds rnnkit $(git -C "$WT" log -1 --format=%h):" >&2
ls -l "$DIR" >&2

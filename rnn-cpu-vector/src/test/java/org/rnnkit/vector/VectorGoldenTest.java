package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.tck.CaseResult;
import org.rnnkit.tck.GoldenCase;
import org.rnnkit.tck.GoldenVerifier;

/**
 * Every PyTorch golden case of the layer/cell format ({@code testdata/golden}, {@code golden-varlen},
 * {@code golden-trained}; {@code golden-training} is the optimizer format, run by rnn-tests) through
 * {@link GoldenVerifier}, forward and gradients, on the vector backend: each must PASS. The worst
 * fractions of the tolerance are printed per set.
 */
class VectorGoldenTest {
    static final Path DATA = Path.of(System.getProperty("rnnkit.testdata", "../testdata"));
    static final List<String> SETS = List.of("golden", "golden-varlen", "golden-trained");
    static Backend vector;
    static final Map<String, double[]> worst = new ConcurrentHashMap<>();

    @BeforeAll
    static void backend() {
        vector = Backends.named(VectorBackend.NAME);
    }

    static Stream<Named<Path>> cases() throws IOException {
        Stream<Named<Path>> all = Stream.empty();
        for (String set : SETS) {
            Path dir = DATA.resolve(set);
            if (!Files.isDirectory(dir)) {
                throw new IllegalStateException("no golden set at " + dir.toAbsolutePath() + " (-Drnnkit.testdata=DIR)");
            }
            try (Stream<Path> s = Files.list(dir)) {
                List<Named<Path>> cases = s.filter(p -> Files.isRegularFile(p.resolve("case.json"))).sorted()
                        .map(p -> Named.of(set + "/" + p.getFileName(), p)).toList();
                assertFalse(cases.isEmpty(), "no cases in " + dir);
                all = Stream.concat(all, cases.stream());
            }
        }
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void passesOnVector(Path dir) throws IOException {
        CaseResult r = GoldenVerifier.verify(GoldenCase.load(dir), vector);
        String set = dir.getParent().getFileName().toString();
        worst.merge(set, new double[] {r.forward() == null ? 0 : r.forward().fraction(),
            r.gradient() == null ? 0 : r.gradient().fraction(), 1},
                (a, b) -> new double[] {Math.max(a[0], b[0]), Math.max(a[1], b[1]), a[2] + b[2]});
        assertEquals(CaseResult.Status.PASS, r.status(), dir.getFileName() + ": " + r.detail());
    }

    @AfterAll
    static void report() {
        new TreeMap<>(worst).forEach((set, w) -> System.out.printf(
                "[golden on vector, %d-bit] %s: %d cases, worst forward %.3f, worst gradients %.3f of the tolerance%n",
                VectorMath.bitSize(), set, (int) w[2], w[0], w[1]));
    }
}

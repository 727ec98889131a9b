package org.rnnkit.tests.structure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.tck.CaseResult;
import org.rnnkit.tck.StructureVerifier;

/**
 * The seeds' one-to-many and encoder-decoder structures against PyTorch 2.13's own results
 * ({@code testdata/structures}, made by {@code tools/make_structures.py}): logits and loss within the golden
 * forward tolerance, every gradient within the gradient tolerance, greedy tokens exactly, on every backend.
 */
class StructureCaseTest {
    static final Path DIR = Path.of(System.getProperty("rnnkit.testdata", "../testdata"), "structures");

    static List<Path> cases() throws IOException {
        assertTrue(Files.isDirectory(DIR), DIR + " is missing: the structure cases ship with the project");
        try (Stream<Path> s = Files.list(DIR)) {
            List<Path> all = s.filter(StructureVerifier::isStructureCase).sorted().toList();
            assertEquals(10, all.size(), "structure cases in " + DIR);
            return all;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void everyCasePassesOnEveryBackend(Backend backend) throws IOException {
        for (Path c : cases()) {
            CaseResult r = StructureVerifier.verify(c, backend);
            System.out.printf("[structures] %s on %s: %s, forward %s, gradient %s%n", r.caseName(), r.backend(),
                    r.status(), r.forward(), r.gradient());
            assertEquals(CaseResult.Status.PASS, r.status(), r.caseName() + " on " + r.backend() + ": " + r.detail());
        }
    }
}

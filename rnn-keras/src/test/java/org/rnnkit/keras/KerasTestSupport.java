package org.rnnkit.keras;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.BackendInfo;
import org.rnnkit.backend.Backends;

/** Test data and backends for the Keras file tests. */
final class KerasTestSupport {
    private KerasTestSupport() {}

    /** testdata/keras: from -Drnnkit.testdata (the pom sets it), else found above the working folder. */
    static Path data() {
        String prop = System.getProperty("rnnkit.testdata");
        Path root = prop != null ? Path.of(prop) : null;
        for (Path p = Path.of("").toAbsolutePath(); root == null && p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata/keras"))) {
                root = p.resolve("testdata");
            }
        }
        Path dir = root == null ? Path.of("testdata/keras") : root.resolve("keras");
        assertTrue(Files.isDirectory(dir), dir.toAbsolutePath() + " is missing: the Keras cases ship with the project"
                + " (surefire passes their parent folder as -Drnnkit.testdata)");
        return dir;
    }

    /** The case folders (000 to 016), sorted. */
    static List<Path> cases() throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(data())) {
            s.filter(p -> Files.isRegularFile(p.resolve("case.json"))).sorted().forEach(out::add);
        }
        return out;
    }

    static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /**
     * Every discovered backend (narrowed by {@code -Drnnkit.tests.backends=a,b}, as in rnn-tests), with null
     * for one that is not usable here and its reason: the test then ends as an assumption (or, with
     * {@code CI=true}, a failure) instead of silently not running.
     */
    static List<BackendInfo> backends() {
        String only = System.getProperty("rnnkit.tests.backends", "");
        List<String> names = only.isBlank() ? List.of() : Arrays.asList(only.trim().split("\\s*,\\s*"));
        List<BackendInfo> out = new ArrayList<>();
        for (BackendInfo b : Backends.discovered()) {
            if (names.isEmpty() || names.contains(b.name())) {
                out.add(b);
            }
        }
        assertTrue(!out.isEmpty(), "no backend discovered" + (names.isEmpty() ? "" : " named " + names));
        return out;
    }

    /** The backend itself, or the end of the test when it is unusable here (a failure in CI). */
    static Backend require(BackendInfo info) {
        if (info.usable()) {
            return Backends.named(info.name());
        }
        String msg = "backend '" + info.name() + "' is not usable here: " + info.detail();
        if (inCi()) {
            throw new AssertionFailedError("CI=true and " + msg);
        }
        throw new TestAbortedException(msg + " (with CI=true this is a failure)");
    }
}

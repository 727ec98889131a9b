package org.rnnkit.io;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository's {@code testdata/} directory (golden cases) for tests. */
final class TestData {
    private TestData() {}

    /**
     * The system property {@code rnnkit.testdata} if set, else the first {@code testdata/} with a {@code golden/}
     * subdirectory found walking up from the working directory (Maven runs tests in the module directory).
     */
    static Path root() {
        String prop = System.getProperty("rnnkit.testdata");
        if (prop != null && !prop.isBlank()) {
            Path p = Path.of(prop).toAbsolutePath();
            if (!Files.isDirectory(p.resolve("golden"))) {
                throw new IllegalStateException("rnnkit.testdata=" + prop + " has no golden/ directory");
            }
            return p;
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("testdata");
            if (Files.isDirectory(candidate.resolve("golden"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("no testdata/golden found above " + Path.of("").toAbsolutePath()
                + "; set -Drnnkit.testdata=<repo>/testdata");
    }
}

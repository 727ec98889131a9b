package org.rnnkit.tests;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.rnnkit.backend.Backends;
import org.rnnkit.spi.Backend;

/**
 * The one source of backends for every cross-backend test: everything {@link Backends#discovered()}
 * finds. A backend that is discovered but not usable is skipped with its probe's reason, except when the
 * environment variable {@code CI} is {@code true}: there it fails the build, so a broken backend can never
 * pass CI by being silently skipped.
 */
public final class BackendSource {
    private BackendSource() {}

    /** True when running in CI ({@code CI=true}). */
    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /**
     * Every usable backend as a JUnit argument named after it; see the class comment for unusable ones.
     * {@code -Drnnkit.tests.backends=a,b} narrows the run to those names (the extra vector-width runs).
     */
    public static Stream<Named<Backend>> usable() {
        String only = System.getProperty("rnnkit.tests.backends", "").trim();
        List<Backends.Discovered> found = Backends.discovered().stream()
                .filter(d -> only.isEmpty() || List.of(only.split("\\s*,\\s*")).contains(d.name())).toList();
        if (found.isEmpty()) {
            throw new IllegalStateException("no backend discovered" + (only.isEmpty() ? "" : " named " + only)
                    + ": are the backend modules on the test class path?");
        }
        StringBuilder unusable = new StringBuilder();
        for (Backends.Discovered d : found) {
            if (!d.usable()) {
                unusable.append(d.name()).append(": ").append(d.availability().describe()).append("; ");
            }
        }
        if (inCi() && unusable.length() > 0) {
            throw new IllegalStateException("CI=true and a discovered backend is unusable: " + unusable);
        }
        if (unusable.length() > 0) {
            System.err.println("[rnnkit tests] skipping unusable backends: " + unusable);
        }
        return found.stream().filter(Backends.Discovered::usable)
                .map(d -> Named.of(d.name(), Backends.named(d.name())));
    }
}

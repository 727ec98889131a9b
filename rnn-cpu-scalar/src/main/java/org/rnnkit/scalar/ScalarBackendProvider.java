package org.rnnkit.scalar;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.BackendProvider;

/**
 * Provider of the {@code scalar} backend: plain Java, usable on every JVM, lowest priority.
 *
 * <p>Thread safety: stateless.
 */
public final class ScalarBackendProvider implements BackendProvider {
    /** Lowest priority: auto picks it only when nothing faster is usable. */
    public static final int PRIORITY = 0;

    @Override
    public String name() {
        return ScalarBackend.NAME;
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public Availability probe() {
        return Availability.available(ScalarBackend.DESCRIPTION);
    }

    @Override
    public Kernels create() {
        return new ScalarBackend();
    }
}

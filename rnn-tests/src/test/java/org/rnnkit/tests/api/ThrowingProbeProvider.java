package org.rnnkit.tests.api;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.BackendProvider;

/**
 * A deliberately broken provider: its probe throws. {@link BackendSelectionTest} registers it only inside
 * an isolated class loader, and {@code BackendSourceTest} hands it to the backend source directly; it is
 * never registered on the test class path, so no other test discovers it.
 */
public final class ThrowingProbeProvider implements BackendProvider {
    @Override
    public String name() {
        return "broken";
    }

    @Override
    public int priority() {
        return 1000; // would win auto-selection if it were usable
    }

    @Override
    public Availability probe() {
        throw new IllegalStateException("libmissing.so: cannot open shared object file");
    }

    @Override
    public Kernels create() {
        throw new AssertionError("create() must not be called for an unusable backend");
    }
}

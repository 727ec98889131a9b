package org.rnnkit.tests.api;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.BackendProvider;

/**
 * A deliberately broken provider for {@link BackendSelectionTest}: its probe throws. It is registered
 * only inside that test's isolated class loader, never on the test class path, so no other test sees it.
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
    public Backend create() {
        throw new AssertionError("create() must not be called for an unusable backend");
    }
}

package org.rnnkit.tests.api;

import org.rnnkit.scalar.ScalarBackendProvider;
import org.rnnkit.spi.Availability;
import org.rnnkit.spi.BackendProvider;
import org.rnnkit.spi.Kernels;

/**
 * A provider that is usable but degraded (as the vector backend is at a width the JVM emulates), with a
 * priority that would win auto-selection: {@link BackendSelectionTest} registers it only inside an
 * isolated class loader. Its backend runs the scalar kernels under its own name.
 *
 * <p>Thread safety: stateless.
 */
public final class DegradedProbeProvider implements BackendProvider {
    @Override
    public String name() {
        return "slow";
    }

    @Override
    public int priority() {
        return 1000;
    }

    @Override
    public Availability probe() {
        return Availability.degraded("512-bit vectors emulated on a 256-bit machine");
    }

    @Override
    public Kernels create() {
        Kernels scalar = new ScalarBackendProvider().create();
        return new Kernels(scalar::kernel, scalar.dense()) {
            @Override
            public String name() {
                return "slow";
            }

            @Override
            public String description() {
                return "scalar kernels, standing in for a degraded backend";
            }
        };
    }
}

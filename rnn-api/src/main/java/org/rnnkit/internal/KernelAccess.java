package org.rnnkit.internal;

import java.util.Objects;
import java.util.function.Function;
import org.rnnkit.spi.Kernels;

/**
 * How rnnkit's layers reach the SPI kernels inside a user-facing {@code org.rnnkit.backend.Backend}
 * without that class showing an SPI type in its public signature. {@code Backend} installs the accessor
 * when it is initialised, which happens before any instance exists, so every caller that holds a backend
 * finds it installed. Not exported: not API.
 *
 * <p>The parameter is typed {@code Object} so that this package does not depend on
 * {@code org.rnnkit.backend} (which depends on it): no package cycle.
 *
 * <p>Thread safety: the accessor is written once, during class initialisation of {@code Backend}.
 */
public final class KernelAccess {
    private static final String BACKEND_CLASS = "org.rnnkit.backend.Backend";
    private static volatile Function<Object, Kernels> unwrap;
    private static volatile Function<Kernels, Object> wrap;

    private KernelAccess() {}

    /** Called once, by {@code Backend}'s static initialiser. */
    public static synchronized void install(Function<Object, Kernels> unwrapper, Function<Kernels, Object> wrapper) {
        if (unwrap != null) {
            throw new IllegalStateException("KernelAccess: already installed");
        }
        wrap = Objects.requireNonNull(wrapper, "wrapper");
        unwrap = Objects.requireNonNull(unwrapper, "unwrapper");
    }

    /** The kernels of a {@code Backend}. */
    public static Kernels kernels(Object backend) {
        Objects.requireNonNull(backend, "backend: expected a Backend, got null");
        return unwrap.apply(backend);
    }

    /**
     * A {@code Backend} over {@code kernels} that no provider made: for rnnkit's own tests (stand-ins for
     * unusable backends) and tools. Initialises {@code Backend} first (by name: no compile-time reference).
     */
    public static Object backend(Kernels kernels) {
        Objects.requireNonNull(kernels, "kernels");
        if (wrap == null) {
            try {
                Class.forName(BACKEND_CLASS, true, KernelAccess.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(BACKEND_CLASS + " is missing", e);
            }
        }
        return wrap.apply(kernels);
    }
}

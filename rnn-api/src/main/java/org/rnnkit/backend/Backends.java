package org.rnnkit.backend;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.rnnkit.spi.Availability;
import org.rnnkit.spi.BackendProvider;

/**
 * The registry of backends: discovery through {@link ServiceLoader}, probing, and selection.
 *
 * <p>Selection is {@code auto} (the usable backend of highest priority, passing over any that is only
 * {@linkplain BackendInfo.Status#DEGRADED degraded} here) or a comma list of names in
 * preference order, given through the API or the system property {@value #PROPERTY}. A single named
 * backend that is unknown or unusable fails with the reason; only {@code auto} and lists fall back. The
 * {@code auto} choice is logged once through {@link System.Logger} at INFO, with every skipped backend and
 * why.
 *
 * <p>Thread safety: all methods are safe for concurrent use. Providers are discovered and probed once per
 * class loader, and each backend is created at most once and shared.
 */
public final class Backends {
    /** System property naming the backend: {@code auto} (default), a name, or a comma list of names. */
    public static final String PROPERTY = "rnnkit.backend";

    private static final System.Logger LOG = System.getLogger(Backends.class.getName());

    /** A discovered provider and the result of its probe. */
    private record Discovered(BackendProvider provider, Availability availability, BackendInfo info) {
        Discovered(BackendProvider provider, Availability availability) {
            this(provider, availability, new BackendInfo(provider.name(), provider.priority(),
                    !availability.isAvailable() ? BackendInfo.Status.UNAVAILABLE
                    : availability.isDegraded() ? BackendInfo.Status.DEGRADED : BackendInfo.Status.AVAILABLE,
                    availability.describe()));
        }

        String name() {
            return info.name();
        }

        boolean usable() {
            return info.usable();
        }

        boolean autoSelectable() {
            return info.autoSelectable();
        }
    }

    private Backends() {}

    // Lazy holder: discovery and probing run on first use, once, under the JVM's class-init lock.
    private static final class Holder {
        static final List<Discovered> DISCOVERED = discover();
        static final List<BackendInfo> INFOS = DISCOVERED.stream().map(Discovered::info).toList();
        static final Map<String, Backend> CREATED = new ConcurrentHashMap<>();
        static volatile boolean autoLogged;
    }

    /** Every discovered backend, usable or not, highest priority first. */
    public static List<BackendInfo> discovered() {
        return Holder.INFOS;
    }

    private static List<Discovered> providers() {
        return Holder.DISCOVERED;
    }

    /** The backend the system property {@value #PROPERTY} selects ({@code auto} when unset). */
    public static Backend get() {
        String spec = System.getProperty(PROPERTY);
        return select(spec == null || spec.isBlank() ? "auto" : spec, PROPERTY);
    }

    /** The usable, not degraded backend of highest priority. */
    public static Backend auto() {
        return select("auto", "backend");
    }

    /**
     * The backend named {@code name}.
     *
     * @throws IllegalArgumentException if no provider has that name
     * @throws IllegalStateException if it is not usable here, with its probe's reason
     */
    public static Backend named(String name) {
        return select(name, "backend");
    }

    /**
     * Selects by specification: {@code auto}, a name, or a comma list of names in preference order, which
     * may end in {@code auto} (e.g. {@code native,auto}: native if usable, else the auto choice).
     *
     * @param spec the specification
     * @param source what the specification came from, used in error messages (e.g. the property name)
     */
    public static Backend select(String spec, String source) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException(source + ": expected 'auto' or a backend name, got '" + spec + "'");
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("auto")) {
            return selectAuto();
        }
        String[] names = s.split("\\s*,\\s*");
        for (String name : names) {
            if (!name.equals("auto")) {
                find(name, source); // unknown names fail before anything is chosen
            }
        }
        List<String> skipped = new ArrayList<>();
        for (String name : names) {
            if (name.equals("auto")) { // "native,auto": native if usable, else whatever auto picks
                return selectAuto();
            }
            Discovered d = find(name, source);
            if (d.usable()) {
                return instance(d);
            }
            skipped.add(name + " (" + d.availability().describe() + ")");
        }
        if (names.length == 1) {
            throw new IllegalStateException(source + ": backend '" + names[0] + "' is not usable here: "
                    + find(names[0], source).availability().describe());
        }
        throw new IllegalStateException(source + ": none of the backends '" + spec + "' is usable here: "
                + String.join("; ", skipped));
    }

    /** The name {@code auto} picks, or empty if nothing is usable. */
    public static java.util.Optional<String> autoChoice() {
        return providers().stream().filter(Discovered::autoSelectable).map(Discovered::name).findFirst();
    }

    private static Backend selectAuto() {
        Discovered winner = providers().stream().filter(Discovered::autoSelectable).findFirst().orElseThrow(() ->
                new IllegalStateException("no usable rnnkit backend: " + (providers().isEmpty()
                        ? "none discovered (is rnn-cpu-scalar on the class path?)"
                        : providers().stream().map(d -> d.name() + " (" + (d.usable() ? "degraded, used only when "
                                + "named: " : "") + d.availability().describe() + ")")
                                .collect(Collectors.joining("; ")))));
        Backend backend = instance(winner);
        if (!Holder.autoLogged) {
            Holder.autoLogged = true;
            String skipped = providers().stream().filter(d -> d != winner)
                    .map(d -> d.name() + " (" + (d.autoSelectable() ? "lower priority"
                            : d.usable() ? "degraded, used only when named: " + d.availability().describe()
                            : d.availability().describe()) + ")")
                    .collect(Collectors.joining("; "));
            LOG.log(Level.INFO, "rnnkit: using backend ''{0}'' ({1}); skipped: {2}",
                    winner.name(), winner.availability().describe(), skipped.isEmpty() ? "none" : skipped);
        }
        return backend;
    }

    private static Discovered find(String name, String source) {
        for (Discovered d : providers()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException(source + ": unknown backend '" + name + "'; known: "
                + providers().stream().map(Discovered::name).sorted().collect(Collectors.joining(", ")));
    }

    private static Backend instance(Discovered d) {
        return Holder.CREATED.computeIfAbsent(d.name(), n -> {
            try {
                return new Backend(Objects.requireNonNull(d.provider().create(), "create() returned null"));
            } catch (RuntimeException | LinkageError e) {
                throw new IllegalStateException("backend '" + n + "' probed usable but failed to start: " + e, e);
            }
        });
    }

    private static List<Discovered> discover() {
        List<Discovered> found = new ArrayList<>();
        ServiceLoader<BackendProvider> loader = ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader());
        var it = loader.iterator();
        while (true) {
            BackendProvider provider;
            try {
                if (!it.hasNext()) {
                    break;
                }
                provider = it.next();
            } catch (ServiceConfigurationError e) {
                LOG.log(Level.WARNING, "rnnkit: a backend provider could not be loaded and is ignored: " + e);
                continue;
            }
            if (found.stream().anyMatch(d -> d.name().equals(provider.name()))) {
                LOG.log(Level.WARNING, "rnnkit: two providers named ''{0}''; ignoring {1}",
                        provider.name(), provider.getClass().getName());
                continue;
            }
            found.add(new Discovered(provider, safeProbe(provider)));
        }
        found.sort(Comparator.comparingInt((Discovered d) -> -d.info().priority()).thenComparing(Discovered::name));
        return List.copyOf(found);
    }

    private static Availability safeProbe(BackendProvider provider) {
        try {
            Availability a = provider.probe();
            return a != null ? a : Availability.unavailable("probe returned null (provider bug)");
        } catch (Throwable t) { // a probe must never throw; one that does is reported, not propagated
            return Availability.unavailable("probe threw (provider bug)", t);
        }
    }
}

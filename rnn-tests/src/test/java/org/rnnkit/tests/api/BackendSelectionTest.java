package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.backend.BackendInfo;
import org.rnnkit.backend.Backends;
import org.rnnkit.scalar.ScalarBackendProvider;
import org.rnnkit.spi.Availability;
import org.rnnkit.backend.Backend;

/**
 * Selection by name, comma list and auto; unknown and unusable backends fail loudly with the reason.
 *
 * <p>The deliberately broken provider ({@link ThrowingProbeProvider}) is registered only inside an isolated
 * class loader, not through {@code src/test/resources/META-INF/services}: registered there it would be
 * discovered by every test of the module (and listed in every "known:" message), and the backend source
 * would need an exception for it so that {@code CI=true} does not fail on it. {@code BackendSourceTest}
 * checks the source's handling of such a provider directly.
 */
class BackendSelectionTest {

    private static List<String> knownNames() {
        return Backends.discovered().stream().map(BackendInfo::name).sorted().toList();
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backends.select("nope", Backends.PROPERTY));
        assertEquals("rnnkit.backend: unknown backend 'nope'; known: " + String.join(", ", knownNames()), e.getMessage());
        // an unknown name in a list fails too, before anything is chosen, even after a usable one
        IllegalArgumentException inList = assertThrows(IllegalArgumentException.class,
                () -> Backends.select("scalar,nope", "backend"));
        assertTrue(inList.getMessage().startsWith("backend: unknown backend 'nope'; known: "), inList.getMessage());
        IllegalArgumentException blank = assertThrows(IllegalArgumentException.class, () -> Backends.select(" ", "backend"));
        assertEquals("backend: expected 'auto' or a backend name, got ' '", blank.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backends.named("nope"));
    }

    @Test
    void namedListAndAutoSelect() {
        assertEquals("scalar", Backends.named("scalar").name());
        assertEquals("scalar", Backends.select("SCALAR", "backend").name(), "names are case-insensitive");
        assertEquals("scalar", Backends.select(" scalar ", "backend").name(), "blanks around a name are ignored");
        Backend auto = Backends.auto();
        assertEquals(Backends.autoChoice().orElseThrow(), auto.name());
        assertEquals(Backends.discovered().stream().filter(BackendInfo::autoSelectable).findFirst()
                .orElseThrow().name(), auto.name(), "auto picks the usable, not degraded backend of highest priority");
        assertTrue(Backends.named("scalar") == Backends.named("scalar"), "one instance per backend");
        assertEquals("scalar", Backends.select("scalar,auto", "backend").name(), "a usable name before auto wins");
        assertEquals(auto.name(), Backends.select("auto", "backend").name());
    }

    /** A comma list is a preference order: the first usable name wins, whatever the priorities. */
    @Test
    void aCommaListIsAPreferenceOrder() {
        List<String> usable = Backends.discovered().stream().filter(BackendInfo::usable)
                .map(BackendInfo::name).toList();
        for (String first : usable) {
            List<String> order = new java.util.ArrayList<>(List.of(first));
            knownNames().stream().filter(n -> !n.equals(first)).forEach(order::add);
            assertEquals(first, Backends.select(String.join(", ", order), "backend").name(), order.toString());
        }
        List<String> lowestFirst = new java.util.ArrayList<>(usable);
        java.util.Collections.reverse(lowestFirst);
        assertEquals(lowestFirst.get(0), Backends.select(String.join(",", lowestFirst), "backend").name());
    }

    @Test
    void availabilityDescribesItsCause() {
        Availability a = Availability.unavailable("libfoo not found", new UnsatisfiedLinkError("no foo in path"));
        assertEquals("libfoo not found (UnsatisfiedLinkError: no foo in path)", a.describe());
        assertTrue(!a.isAvailable() && a.cause().isPresent());
        assertEquals("available: x", Availability.available("x").toString());
        Availability d = Availability.degraded("emulated");
        assertTrue(d.isAvailable() && d.isDegraded() && d.cause().isEmpty());
        assertEquals("degraded: emulated", d.toString());
        assertTrue(!Availability.available("x").isDegraded() && !a.isDegraded());
    }

    /**
     * A degraded provider (usable, correct, far below its speed) is passed over by auto even at the
     * highest priority, but runs when named alone or first in a list.
     */
    @Test
    void aDegradedBackendRunsOnlyWhenNamed(@TempDir Path tmp) throws Exception {
        try (URLClassLoader loader = isolated(tmp, DegradedProbeProvider.class)) {
            Class<?> backends = Class.forName(Backends.class.getName(), true, loader);
            List<?> found = (List<?>) backends.getMethod("discovered").invoke(null);
            assertEquals(2, found.size(), found.toString());
            Object slow = found.get(0); // priority 1000 first
            Class<?> discovered = slow.getClass();
            assertEquals(true, discovered.getMethod("usable").invoke(slow));
            assertEquals(false, discovered.getMethod("autoSelectable").invoke(slow));
            assertEquals(java.util.Optional.of("scalar"), backends.getMethod("autoChoice").invoke(null));

            Method select = backends.getMethod("select", String.class, String.class);
            // the Backend interface's name(), as that loader sees it (the backends' classes may not be public)
            Method name = Class.forName(Backend.class.getName(), true, loader).getMethod("name");
            assertEquals("scalar", name.invoke(select.invoke(null, "auto", "backend")));
            assertEquals("slow", name.invoke(select.invoke(null, "slow", "backend")));
            assertEquals("slow", name.invoke(select.invoke(null, "slow,scalar", "backend")));
        }
    }

    /** A class loader in which {@code provider} and the scalar backend are the only backends, with a fresh registry. */
    private static URLClassLoader isolated(Path tmp, Class<?> provider) throws java.io.IOException {
        Path services = tmp.resolve("META-INF/services/org.rnnkit.spi.BackendProvider");
        Files.createDirectories(services.getParent());
        Files.writeString(services, provider.getName() + "\n" + ScalarBackendProvider.class.getName() + "\n");
        URL[] urls = {
            tmp.toUri().toURL(),
            Backends.class.getProtectionDomain().getCodeSource().getLocation(),
            ScalarBackendProvider.class.getProtectionDomain().getCodeSource().getLocation(),
            provider.getProtectionDomain().getCodeSource().getLocation(),
        };
        // parent = platform loader: rnnkit's classes load afresh here, with a fresh registry
        return new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
    }

    /**
     * A provider whose probe throws is listed as unusable with the reason, never breaks discovery, is
     * skipped by auto and by lists, and fails loudly when named alone. Run in an isolated class loader so
     * the broken provider exists only here.
     */
    @Test
    void aThrowingProbeIsReportedNotPropagated(@TempDir Path tmp) throws Exception {
        try (URLClassLoader loader = isolated(tmp, ThrowingProbeProvider.class)) {
            Class<?> backends = Class.forName(Backends.class.getName(), true, loader);
            List<?> found = (List<?>) backends.getMethod("discovered").invoke(null);
            assertEquals(2, found.size(), found.toString());
            String listing = found.toString();
            assertTrue(listing.contains("probe threw (provider bug)") && listing.contains("libmissing.so"), listing);

            Method select = backends.getMethod("select", String.class, String.class);
            Object auto = select.invoke(null, "auto", "backend");
            assertEquals("scalar", auto.getClass().getMethod("name").invoke(auto));
            Object fromList = select.invoke(null, "broken,scalar", "backend");
            assertEquals("scalar", fromList.getClass().getMethod("name").invoke(fromList));
            Object orAuto = select.invoke(null, "broken, auto", "backend"); // an unusable first choice, then auto
            assertEquals("scalar", orAuto.getClass().getMethod("name").invoke(orAuto));

            InvocationTargetException e = assertThrows(InvocationTargetException.class,
                    () -> select.invoke(null, "broken", "rnnkit.backend"));
            assertEquals(IllegalStateException.class.getName(), e.getCause().getClass().getName());
            assertTrue(e.getCause().getMessage().startsWith("rnnkit.backend: backend 'broken' is not usable here: "
                    + "probe threw (provider bug) (IllegalStateException: libmissing.so"), e.getCause().getMessage());
        }
    }
}

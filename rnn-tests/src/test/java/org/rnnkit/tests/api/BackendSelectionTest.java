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
import org.rnnkit.backend.Backends;
import org.rnnkit.scalar.ScalarBackendProvider;
import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Backend;

/** Selection by name, list and auto; unknown and unusable backends fail loudly with the reason. */
class BackendSelectionTest {

    @Test
    void unknownNameListsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backends.select("nope", Backends.PROPERTY));
        assertTrue(e.getMessage().startsWith("rnnkit.backend: unknown backend 'nope'; known: "), e.getMessage());
        assertTrue(e.getMessage().contains("scalar"), e.getMessage());
        // an unknown name in a list fails too, before anything is chosen
        assertThrows(IllegalArgumentException.class, () -> Backends.select("scalar,nope", "backend"));
        assertThrows(IllegalArgumentException.class, () -> Backends.select(" ", "backend"));
    }

    @Test
    void namedListAndAutoSelect() {
        assertEquals("scalar", Backends.named("scalar").name());
        assertEquals("scalar", Backends.select("SCALAR", "backend").name(), "names are case-insensitive");
        Backend auto = Backends.auto();
        assertEquals(Backends.autoChoice().orElseThrow(), auto.name());
        assertTrue(Backends.named("scalar") == Backends.named("scalar"), "one instance per backend");
    }

    @Test
    void availabilityDescribesItsCause() {
        Availability a = Availability.unavailable("libfoo not found", new UnsatisfiedLinkError("no foo in path"));
        assertEquals("libfoo not found (UnsatisfiedLinkError: no foo in path)", a.describe());
        assertTrue(!a.isAvailable() && a.cause().isPresent());
        assertEquals("available: x", Availability.available("x").toString());
    }

    /**
     * A provider whose probe throws is listed as unusable with the reason, never breaks discovery, is
     * skipped by auto and by lists, and fails loudly when named alone. Run in an isolated class loader so
     * the broken provider exists only here.
     */
    @Test
    void aThrowingProbeIsReportedNotPropagated(@TempDir Path tmp) throws Exception {
        Path services = tmp.resolve("META-INF/services/org.rnnkit.spi.BackendProvider");
        Files.createDirectories(services.getParent());
        Files.writeString(services, ThrowingProbeProvider.class.getName() + "\n"
                + ScalarBackendProvider.class.getName() + "\n");
        URL[] urls = {
            tmp.toUri().toURL(),
            Backends.class.getProtectionDomain().getCodeSource().getLocation(),
            ScalarBackendProvider.class.getProtectionDomain().getCodeSource().getLocation(),
            ThrowingProbeProvider.class.getProtectionDomain().getCodeSource().getLocation(),
        };
        // parent = platform loader: rnnkit's classes load afresh here, with a fresh registry
        try (URLClassLoader loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader())) {
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

            InvocationTargetException e = assertThrows(InvocationTargetException.class,
                    () -> select.invoke(null, "broken", "rnnkit.backend"));
            assertEquals(IllegalStateException.class.getName(), e.getCause().getClass().getName());
            assertTrue(e.getCause().getMessage().startsWith("rnnkit.backend: backend 'broken' is not usable here: "
                    + "probe threw (provider bug) (IllegalStateException: libmissing.so"), e.getCause().getMessage());
        }
    }
}

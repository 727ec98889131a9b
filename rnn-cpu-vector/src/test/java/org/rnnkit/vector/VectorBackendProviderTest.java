package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backends;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.BackendProvider;

/** Discovery, probe, naming, the species property and the thread option of the vector backend. */
class VectorBackendProviderTest {

    @Test
    void isDiscoveredWithItsNameAndPriority() {
        BackendProvider p = ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(x -> x.name().equals("vector")).findFirst().orElseThrow();
        assertTrue(p instanceof VectorBackendProvider);
        assertEquals(100, p.priority());
        assertTrue(Backends.discovered().stream().anyMatch(d -> d.name().equals("vector") && d.usable()),
                Backends.discovered().toString());
    }

    @Test
    void probeDescribesTheSpeciesAndTheBackendHasEveryKernel() {
        Availability a = new VectorBackendProvider().probe();
        assertTrue(a.isAvailable(), a.toString());
        assertTrue(a.detail().matches("FloatVector (128|256|512)-bit, (hardware-backed|emulated) \\(.*\\), "
                + "(FMA in hardware|no hardware FMA|FMA status unknown).*"), a.detail());
        Kernels b = new VectorBackendProvider().create();
        assertEquals("vector", b.name());
        assertTrue(b.description().startsWith("FloatVector " + VectorMath.bitSize() + "-bit, ")
                && b.description().contains(VectorProbe.fmaStatus()), b.description());
        for (Recurrence t : Recurrence.values()) {
            assertTrue(b.kernel(t) instanceof VectorKernel, t.toString());
        }
    }

    /**
     * A species wider than this JVM's vector registers is emulated: the probe says so and reports the
     * backend degraded, so auto-selection passes it over (here the scalar backend, the only other one on
     * this module's test class path), while naming it still works. A hardware-backed one is auto's choice.
     */
    @Test
    void anEmulatedSpeciesIsDegradedAndNeverAutoSelected() {
        Availability a = new VectorBackendProvider().probe();
        boolean hardware = VectorMath.bitSize() <= VectorProbe.jvmMaxBits();
        assertEquals(hardware, VectorProbe.hardwareBacked());
        assertEquals(!hardware, a.isDegraded(), a.toString());
        assertTrue(a.detail().contains(hardware ? "-bit, hardware-backed (this JVM's widest is " + VectorProbe.jvmMaxBits()
                : "-bit, emulated (wider than this JVM's " + VectorProbe.jvmMaxBits() + "-bit maximum"), a.detail());
        assertEquals(hardware ? "vector" : "scalar", Backends.autoChoice().orElseThrow());
        assertEquals(hardware ? "vector" : "scalar", Backends.auto().name());
        assertEquals("vector", Backends.named("vector").name());
        System.out.println("[vector probe] " + a + "; auto picks " + Backends.autoChoice().orElseThrow());
    }

    @Test
    void theSpeciesFollowsTheProperty() {
        String forced = System.getProperty(VectorProbe.BIT_SIZE_PROPERTY);
        if (forced != null) {
            assertEquals(Integer.parseInt(forced), VectorMath.bitSize());
        } else {
            assertEquals(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(), VectorMath.bitSize());
        }
        assertEquals(VectorMath.bitSize() / 32, VectorMath.L);
        assertEquals(VectorMath.L / 2, VectorMath.AL);
    }

    @Test
    void aBadBitSizeIsAReasonNotAnError() {
        String old = System.getProperty(VectorProbe.BIT_SIZE_PROPERTY);
        System.setProperty(VectorProbe.BIT_SIZE_PROPERTY, "384");
        try {
            Availability a = new VectorBackendProvider().probe();
            assertFalse(a.isAvailable());
            assertTrue(a.detail().contains("rnnkit.vector.bitSize: expected 128, 256 or 512, got '384'"), a.detail());
        } finally {
            if (old == null) {
                System.clearProperty(VectorProbe.BIT_SIZE_PROPERTY);
            } else {
                System.setProperty(VectorProbe.BIT_SIZE_PROPERTY, old);
            }
        }
    }

    @Test
    void threadsAreOptIn() {
        VectorBackend b = (VectorBackend) new VectorBackendProvider().create();
        assertEquals(VectorBackendProvider.threads(System.getProperty(VectorBackend.THREADS_PROPERTY)), b.threads());
        assertEquals(1, b.withExecutor(null, 1).threads());
        assertEquals(3, b.withExecutor(Runnable::run, 3).threads());
        assertTrue(b.withExecutor(Runnable::run, 3).description().endsWith("up to 3 threads"));
        assertThrows(IllegalArgumentException.class, () -> b.withExecutor(null, 2));
        assertThrows(IllegalArgumentException.class, () -> b.withExecutor(Runnable::run, 0));
    }

    @Test
    void withThreadsUsesTheSharedPool() {
        Kernels one = new VectorBackendProvider().create().withThreads(1);
        assertEquals(1, one.threads());
        Kernels two = one.withThreads(2);
        assertEquals(2, two.threads());
        assertTrue(two.description().endsWith("up to 2 threads"), two.description());
        assertTrue(two.withThreads(2) == two, "same count: same backend");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> one.withThreads(0));
        assertEquals("threads: expected >= 1, got 0", e.getMessage());
    }

    @Test
    void theThreadCountIsAnIntegerFromOneTo1024() {
        assertEquals(1, VectorBackendProvider.threads(null));
        assertEquals(1, VectorBackendProvider.threads(""));
        assertEquals(1, VectorBackendProvider.threads("1"));
        assertEquals(4, VectorBackendProvider.threads(" 4 "));
        assertEquals(10, VectorBackendProvider.threads("010")); // decimal (Integer.getInteger read octal 8)
        assertEquals(1024, VectorBackendProvider.threads("1024"));
        for (String bad : new String[] {"abc", "-1", "0", "1025", "2147483648", "99999999999", "+4", "0x10", "4.0",
                "\u0664", "4 threads"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> VectorBackendProvider.threads(bad), bad);
            assertEquals("rnnkit.vector.threads: expected an integer from 1 to 1024, got '" + bad + "'", e.getMessage());
        }
    }

    @Test
    void aBadThreadCountIsTheProbesReasonAndCreatesNothing() {
        String old = System.getProperty(VectorBackend.THREADS_PROPERTY);
        System.setProperty(VectorBackend.THREADS_PROPERTY, "abc");
        try {
            VectorBackendProvider p = new VectorBackendProvider();
            Availability a = p.probe();
            assertFalse(a.isAvailable());
            assertEquals("rnnkit.vector.threads: expected an integer from 1 to 1024, got 'abc'", a.detail());
            IllegalStateException e = assertThrows(IllegalStateException.class, p::create);
            assertEquals("vector backend is not usable here: rnnkit.vector.threads: expected an integer from 1 to 1024,"
                    + " got 'abc'", e.getMessage());
            System.setProperty(VectorBackend.THREADS_PROPERTY, "2");
            assertEquals(2, ((VectorBackend) p.create()).threads());
        } finally {
            if (old == null) {
                System.clearProperty(VectorBackend.THREADS_PROPERTY);
            } else {
                System.setProperty(VectorBackend.THREADS_PROPERTY, old);
            }
        }
    }

    /**
     * End to end, in a child JVM (the registry probes once per JVM): auto passes the backend over for the
     * scalar one (the only other backend on this module's test class path), and naming it fails with the
     * reason.
     */
    @Test
    void aBadThreadCountReachesTheUserWhoNamesTheBackend() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-Xmx256m", "--add-modules", "jdk.incubator.vector",
                "-D" + VectorBackend.THREADS_PROPERTY + "=abc", "-cp", System.getProperty("java.class.path"),
                SelectMain.class.getName()).redirectErrorStream(true).start();
        child.getOutputStream().close();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child finished");
        assertEquals(0, child.exitValue(), out);
        String reason = "rnnkit.vector.threads: expected an integer from 1 to 1024, got 'abc'";
        assertEquals(List.of("unavailable: " + reason, "auto: scalar",
                "named: failed: backend: backend 'vector' is not usable here: " + reason),
                out.lines().filter(l -> l.matches("(available|unavailable|degraded|auto|named): .*")).toList(), out);
    }
}

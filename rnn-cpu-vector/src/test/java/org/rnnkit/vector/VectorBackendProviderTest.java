package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Backend;
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
        Backend b = new VectorBackendProvider().create();
        assertEquals("vector", b.name());
        assertTrue(b.description().startsWith("FloatVector " + VectorMath.bitSize() + "-bit, ")
                && b.description().contains(VectorProbe.fmaStatus()), b.description());
        for (CellType t : CellType.values()) {
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
        assertEquals(Integer.getInteger(VectorBackend.THREADS_PROPERTY, 1) > 1 ? Integer.getInteger(VectorBackend.THREADS_PROPERTY) : 1,
                b.threads());
        assertEquals(1, b.withExecutor(null, 1).threads());
        assertEquals(3, b.withExecutor(Runnable::run, 3).threads());
        assertTrue(b.withExecutor(Runnable::run, 3).description().endsWith("up to 3 threads"));
        assertThrows(IllegalArgumentException.class, () -> b.withExecutor(null, 2));
        assertThrows(IllegalArgumentException.class, () -> b.withExecutor(Runnable::run, 0));
    }

    @Test
    void withThreadsUsesTheSharedPool() {
        VectorBackend one = ((VectorBackend) new VectorBackendProvider().create()).withThreads(1);
        assertEquals(1, one.threads());
        VectorBackend two = one.withThreads(2);
        assertEquals(2, two.threads());
        assertTrue(two.description().endsWith("up to 2 threads"), two.description());
        assertTrue(two.withThreads(2) == two, "same count: same backend");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> one.withThreads(0));
        assertEquals("threads: expected >= 1, got 0", e.getMessage());
    }
}

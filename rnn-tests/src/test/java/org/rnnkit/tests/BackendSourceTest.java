package org.rnnkit.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;
import org.rnnkit.backend.BackendInfo;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.spi.Availability;
import org.rnnkit.backend.Backend;
import org.rnnkit.tests.api.ThrowingProbeProvider;

/**
 * The backend source's policy: every discovered backend is tested; an unusable one is a skip with its
 * probe's reason, or a failure naming it when {@code CI=true}; it never vanishes silently.
 */
class BackendSourceTest {

    /** What discovery makes of a provider whose probe throws (see {@code BackendSelectionTest}). */
    private static BackendInfo broken() {
        ThrowingProbeProvider p = new ThrowingProbeProvider();
        return new BackendInfo(p.name(), p.priority(), BackendInfo.Status.UNAVAILABLE, Availability.unavailable(
                "probe threw (provider bug)", new IllegalStateException("libmissing.so: cannot open shared object file"))
                .describe());
    }

    private static BackendInfo scalar() {
        return Backends.discovered().stream().filter(d -> d.name().equals("scalar")).findFirst().orElseThrow();
    }

    @Test
    void everyDiscoveredBackendIsAnArgumentNamedAfterIt() {
        List<Named<Backend>> all = BackendSource.all().toList();
        String only = System.getProperty(BackendSource.ONLY, "");
        long expected = Backends.discovered().stream()
                .filter(d -> only.isBlank() || List.of(only.split("\\s*,\\s*")).contains(d.name())).count();
        assertEquals(expected, all.size(), all.toString());
        for (Named<Backend> n : all) {
            assertTrue(n.getName().startsWith(n.getPayload().name()), n.getName());
        }
    }

    @Test
    void anUnusableBackendIsSkippedWithItsReason() {
        List<Named<Backend>> list = BackendSource.from(List.of(scalar(), broken()), "", false);
        assertEquals(2, list.size());
        assertSame(Backends.named("scalar"), list.get(0).getPayload());
        Backend standIn = list.get(1).getPayload();
        assertNotNull(BackendSource.unusable(standIn), "a stand-in");
        assertEquals("broken (unusable)", list.get(1).getName());
        TestAbortedException e = assertThrows(TestAbortedException.class, () -> BackendSource.require(standIn));
        assertTrue(e.getMessage().startsWith("backend 'broken' is not usable here: probe threw (provider bug) "
                + "(IllegalStateException: libmissing.so"), e.getMessage());
        // using it anyway (building a layer) ends the test the same way
        assertThrows(TestAbortedException.class,
                () -> RecurrentLayer.builder(CellType.GRU).inputSize(2).hiddenSize(3).backend(standIn).build());
        assertSame(list.get(0).getPayload(), BackendSource.require(list.get(0).getPayload()));
    }

    @Test
    void anUnusableBackendFailsInCi() {
        Backend standIn = BackendSource.from(List.of(scalar(), broken()), "", true).get(1).getPayload();
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> BackendSource.require(standIn));
        assertTrue(e.getMessage().contains("'broken'") && e.getMessage().contains("libmissing.so"), e.getMessage());
    }

    @Test
    void narrowingByNameAndUnknownNames() {
        assertEquals(List.of("scalar"), BackendSource.from(List.of(scalar(), broken()), "scalar", false).stream()
                .map(Named::getName).toList());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BackendSource.from(List.of(scalar()), "native", false));
        assertTrue(e.getMessage().contains("[native]") && e.getMessage().contains("[scalar]"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> BackendSource.from(List.of(), "", false));
    }

    /** The guard ends a parameterized invocation that received a stand-in before the body runs. */
    @Test
    void theGuardSkipsTheBodyOfAnInvocationWithAStandIn() throws Throwable {
        Backend standIn = BackendSource.from(List.of(broken()), "", false).get(0).getPayload();
        Recorder body = new Recorder();
        assertThrows(TestAbortedException.class,
                () -> new BackendSource.Guard().interceptTestTemplateMethod(body, context(standIn), null));
        assertEquals(List.of("skip"), body.calls);

        Recorder usable = new Recorder();
        new BackendSource.Guard().interceptTestTemplateMethod(usable, context(Backends.named("scalar")), null);
        assertEquals(List.of("proceed"), usable.calls);
        assertFalse(usable.calls.contains("skip"));
    }

    private static final class Recorder implements InvocationInterceptor.Invocation<Void> {
        final List<String> calls = new ArrayList<>();

        @Override
        public Void proceed() {
            calls.add("proceed");
            return null;
        }

        @Override
        public void skip() {
            calls.add("skip");
        }
    }

    private static ReflectiveInvocationContext<Method> context(Object... args) {
        return new ReflectiveInvocationContext<>() {
            @Override
            public Class<?> getTargetClass() {
                return BackendSourceTest.class;
            }

            @Override
            public Method getExecutable() {
                return BackendSourceTest.class.getDeclaredMethods()[0];
            }

            @Override
            public List<Object> getArguments() {
                return List.of(args);
            }

            @Override
            public Optional<Object> getTarget() {
                return Optional.empty();
            }
        };
    }
}

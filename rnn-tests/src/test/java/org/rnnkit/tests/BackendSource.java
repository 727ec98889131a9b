package org.rnnkit.tests;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.BackendInfo;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.MatrixView;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.StateView;

/**
 * The one source of backends for every cross-backend test: everything {@link Backends#discovered()} finds,
 * as JUnit {@link Named} arguments, so a backend added later ({@code vector}, {@code native}) is tested
 * without touching any test.
 *
 * <p>A backend that is discovered but not usable here is not dropped silently. It is passed to the tests
 * as an {@link Unusable} stand-in, and each test that receives it ends with its probe's reason:
 * <ul>
 *   <li>normally as an <em>assumption</em> (the test is reported as skipped, with the reason);
 *   <li>when the environment variable {@code CI} is {@code true}, as a <em>failure</em> naming the backend
 *       and the reason, so a broken backend can never pass CI by being skipped.
 * </ul>
 * Parameterized tests get this before their body runs, from {@link Guard} (registered for every test
 * class through JUnit's extension auto-detection: {@code src/test/resources/junit-platform.properties} and
 * {@code META-INF/services/org.junit.jupiter.api.extension.Extension}). Dynamic tests call
 * {@link #require(Backend)} first. Any other use of a stand-in (building a layer on it) ends the test the
 * same way, because its kernels throw the verdict.
 *
 * <p>{@code -Drnnkit.tests.backends=a,b} narrows a run to those names (the pom's extra runs of the
 * {@code vector} backend at each vector width use it); a name that is not discovered is an error.
 *
 * <p>A deliberately unusable provider is <em>not</em> registered on the test class path (it would appear
 * in every listing, in {@code Backends.select}'s "known:" message, and in this source, which would then
 * need an exception for it): {@code BackendSelectionTest} registers its throwing provider in an isolated
 * class loader, and {@code BackendSourceTest} feeds the same provider to {@link #from} directly.
 */
public final class BackendSource {
    /** System property narrowing the backends under test to a comma list of names. */
    public static final String ONLY = "rnnkit.tests.backends";

    private static final java.util.concurrent.atomic.AtomicBoolean REPORTED = new java.util.concurrent.atomic.AtomicBoolean();

    private BackendSource() {}

    /** True when running in CI ({@code CI=true}). */
    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /**
     * Every discovered backend (narrowed by {@value #ONLY}) as a JUnit argument named after it, highest
     * priority first; unusable ones as {@link Unusable} stand-ins (see the class comment).
     */
    public static Stream<Named<Backend>> all() {
        List<Named<Backend>> list = from(Backends.discovered(), System.getProperty(ONLY, ""), inCi());
        String unusable = list.stream().filter(n -> unusable(n.getPayload()) != null)
                .map(n -> n.getPayload().name() + ": " + unusable(n.getPayload()).reason())
                .reduce((a, b) -> a + "; " + b).orElse("");
        if (!unusable.isEmpty() && !REPORTED.getAndSet(true)) {
            System.err.println("[rnnkit tests] discovered but unusable (" + (inCi() ? "failing: CI=true" : "skipped")
                    + "): " + unusable);
        }
        return list.stream();
    }

    /**
     * The name the existing {@code @MethodSource("org.rnnkit.tests.BackendSource#usable")} tests use: the
     * same as {@link #all()}. Usable backends run; unusable ones are skipped (or fail in CI) with their reason.
     */
    public static Stream<Named<Backend>> usable() {
        return all();
    }

    /** The policy of {@link #all()} on a given discovery result, for tests of this class. */
    public static List<Named<Backend>> from(List<BackendInfo> discovered, String only, boolean ci) {
        List<String> names = only == null || only.isBlank() ? List.of() : Arrays.asList(only.trim().split("\\s*,\\s*"));
        List<Named<Backend>> result = new ArrayList<>();
        for (BackendInfo d : discovered) {
            if (!names.isEmpty() && !names.contains(d.name())) {
                continue;
            }
            if (d.usable()) {
                result.add(Named.of(d.name(), Backends.named(d.name())));
            } else {
                result.add(Named.of(d.name() + " (unusable)",
                        (Backend) KernelAccess.backend(new Unusable(d.name(), d.detail(), ci))));
            }
        }
        if (result.isEmpty()) {
            throw new IllegalStateException("no backend discovered" + (names.isEmpty() ? "" : " named " + names)
                    + ": are the backend modules on the test class path? discovered: "
                    + discovered.stream().map(BackendInfo::name).toList());
        }
        return result;
    }

    /**
     * Why {@code backend} runs {@linkplain BackendInfo.Status#DEGRADED degraded} here (for
     * example the vector backend at a width wider than the JVM's vector registers, emulated in Java), or
     * null when it runs at its intended speed. Tests of speed properties (no allocation once compiled) hold
     * only a backend that is not degraded to them, and say so in one line for one that is.
     */
    public static String degradedReason(Backend backend) {
        return Backends.discovered().stream().filter(d -> d.name().equals(backend.name())
                && d.status() == BackendInfo.Status.DEGRADED).map(BackendInfo::detail).findFirst().orElse(null);
    }

    /**
     * {@code backend} itself when it is usable; for an {@link Unusable} stand-in, ends the test: skipped with
     * the reason, or failed when {@code CI=true}.
     */
    public static Backend require(Backend backend) {
        Unusable u = unusable(backend);
        if (u != null) {
            u.end();
        }
        return backend;
    }

    /** The stand-in's verdict when {@code backend} stands in for an unusable one, else null. */
    public static Unusable unusable(Object backend) {
        return backend instanceof Backend b && KernelAccess.kernels(b) instanceof Unusable u ? u : null;
    }

    /**
     * Stands in for a discovered backend that is not usable here. Anything that needs its kernels ends the
     * test with {@link #end()}.
     */
    public static final class Unusable extends Kernels {
        private final String name, reason;
        private final boolean ci;

        Unusable(String name, String reason, boolean ci) {
            super(r -> new Ending(r, () -> end(name, reason, ci)), new EndingDense(() -> end(name, reason, ci)));
            this.name = name;
            this.reason = reason;
            this.ci = ci;
        }

        @Override
        public String name() {
            return name;
        }

        public String reason() {
            return reason;
        }

        @Override
        public String description() {
            return "unusable here: " + reason;
        }

        /** Throws the verdict: an assumption failure (skip), or in CI an assertion failure. */
        public void end() {
            end(name, reason, ci);
        }

        private static void end(String name, String reason, boolean ci) {
            if (ci) {
                throw new AssertionFailedError("CI=true and backend '" + name
                        + "' was discovered but is not usable here: " + reason);
            }
            throw new TestAbortedException("backend '" + name + "' is not usable here: " + reason
                    + " (with CI=true this is a failure)");
        }

        /** A dense kernel whose every use ends the test with the verdict. */
        private static final class EndingDense extends DenseKernel {
            private final Runnable end;

            EndingDense(Runnable end) {
                this.end = end;
            }

            @Override
            protected void runMultiply(MatrixView a, MatrixView b, MatrixView c, boolean accumulate) {
                end.run();
            }

            @Override
            protected void runSoftmax(MatrixView z, MatrixView p, float[] logSumExp, int lseOffset) {
                end.run();
            }
        }

        /** A kernel whose every use ends the test with the verdict. */
        private static final class Ending extends RecurrentKernel<PreparedWeights> {
            private final Runnable end;

            Ending(Recurrence type, Runnable end) {
                super(type, PreparedWeights.class);
                this.end = end;
            }

            @Override
            public long workspaceSize(KernelShape shape, int seqLen, int batch) {
                end.run();
                return 0;
            }

            @Override
            public long tapeSize(KernelShape shape, int seqLen, int batch) {
                end.run();
                return 0;
            }

            @Override
            protected PreparedWeights pack(KernelShape shape, DirectionWeights weights) {
                end.run();
                return null;
            }

            @Override
            protected void runForward(PreparedWeights w, SequenceGeometry seq, SequenceView x, SequenceView out,
                    StateView state, Scratch scratch) {
                end.run();
            }

            @Override
            protected void runBackward(PreparedWeights w, SequenceGeometry seq, SequenceView x, SequenceView dOut,
                    StateView dState, SequenceView dx, DirectionWeights grads, Scratch scratch) {
                end.run();
            }
        }
    }

    /**
     * Ends every invocation of a parameterized test that received an {@link Unusable} backend before its
     * body runs, so a test that expects an exception (e.g. {@code assertThrows}) cannot mistake the
     * verdict for its own. Registered for all test classes by auto-detection (see the class comment).
     */
    public static final class Guard implements InvocationInterceptor {
        @Override
        public void interceptTestTemplateMethod(Invocation<Void> invocation,
                ReflectiveInvocationContext<Method> invocationContext, ExtensionContext extensionContext)
                throws Throwable {
            for (Object argument : invocationContext.getArguments()) {
                Unusable u = unusable(argument);
                if (u != null) {
                    invocation.skip();
                    u.end();
                }
            }
            invocation.proceed();
        }
    }
}

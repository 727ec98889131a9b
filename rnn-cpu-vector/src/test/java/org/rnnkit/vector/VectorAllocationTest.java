package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.StateView;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;

/**
 * The steady state of one workload allocates nothing. In a class of its own, so its JVM (a fresh fork
 * per class) has compiled only this workload. (After {@link VectorKernelTest}'s hundreds of random
 * shapes, C2 used to leave a vector boxed for good in a few runs in ten: the activations then used a
 * second, half-width float species, whose class polluted FloatVector's shared type profiles; see
 * {@link VectorMath#HIGH}. One JVM per workload keeps this test about the property, not JIT history.)
 *
 * <p>The property holds where the species is hardware-backed ({@link VectorProbe#hardwareBacked()}). A
 * species wider than this JVM's vector registers (forced with {@code -Drnnkit.vector.bitSize=512} on an
 * AVX2 machine, or under {@code -XX:UseAVX=2}) runs in the Vector API's Java fallback, where every vector
 * is an object: there this test says so in one line and is skipped, and {@link VectorWidthTest} checks
 * what does hold, that the emulated species gives the hardware-backed width's bits.
 */
class VectorAllocationTest {
    static Kernels vector;

    @BeforeAll
    static void backend() {
        vector = new VectorBackendProvider().create();
        if (!VectorProbe.hardwareBacked()) {
            System.out.println("[vector allocation] not measured: " + VectorProbe.describe()
                    + "; VectorWidthTest checks its results against a hardware-backed width instead");
        }
    }

    /**
     * Once compiled, a forward and backward pass allocates nothing, per step or per call (single-threaded).
     * The Vector API allocates while code is still interpreted or being recompiled, so the check runs
     * measurement windows after a warm-up until one allocates nothing; a vector boxed for good (a vector
     * method C2 would not inline) never gets there.
     */
    @ParameterizedTest
    @EnumSource(Recurrence.class)
    void aCompiledCallAllocatesNothing(Recurrence type) {
        Assumptions.assumeTrue(VectorProbe.hardwareBacked(), () -> "an emulated species allocates per operation: "
                + VectorProbe.describe());
        KernelCase c = WidthRun.workload(type);
        RecurrentKernel<?> k = vector.kernel(type);
        KernelShape s = c.shape();
        PreparedWeights pw = k.prepare(s, c.weights);
        float[] ws = new float[Math.toIntExact(k.workspaceSize(s, c.seqLen, c.batch))];
        float[] tape = new float[Math.toIntExact(k.tapeSize(s, c.seqLen, c.batch))];
        float[] out = new float[c.outSize()], h = c.h0.clone(), cc = c.c0.clone(), dh = c.dhN.clone(), dc = c.dcN.clone();
        float[] dx = c.dx0.clone();
        DirectionWeights grads = KernelCase.copy(c.grads0);
        boolean lstm = type == Recurrence.LSTM;
        // the argument objects are made once and reused, as the layers reuse theirs
        SequenceGeometry seq = new SequenceGeometry().set(c.seqLen, c.batch, c.lengths, c.reverse);
        SequenceView xv = new SequenceView().set(c.x, c.xOff, c.xTs(), c.xBs());
        SequenceView outv = new SequenceView().set(out, c.outStart(), c.outTs(), c.outBs());
        SequenceView dOutv = new SequenceView().set(c.dOut, c.outStart(), c.outTs(), c.outBs());
        SequenceView dxv = new SequenceView().set(dx, c.xOff, c.xTs(), c.xBs());
        StateView state = new StateView().set(h, c.hOff, lstm ? cc : null, c.cOff);
        StateView dState = new StateView().set(dh, c.hOff, lstm ? dc : null, c.cOff);
        Scratch scratch = new Scratch().set(tape, 0, ws, 0);
        Runnable call = () -> {
            k.forward(pw, seq, xv, outv, state, scratch);
            k.backward(pw, seq, xv, dOutv, dState, dxv, grads, scratch);
            System.arraycopy(c.h0, 0, h, 0, h.length); // keep the values bounded across repetitions
            System.arraycopy(c.c0, 0, cc, 0, cc.length);
            System.arraycopy(c.dhN, 0, dh, 0, dh.length);
            System.arraycopy(c.dcN, 0, dc, 0, dc.length);
        };
        for (int i = 0; i < 5000; i++) {
            call.run();
        }
        long best = Long.MAX_VALUE;
        // windows until one allocates nothing, for up to 30 s: C2 compiles in the background and on a
        // loaded 2-core machine its queue may take seconds to reach these methods
        long deadline = System.nanoTime() + 30_000_000_000L;
        for (int window = 0; best > 0 && (window < 40 || System.nanoTime() < deadline); window++) {
            long probe = allocatedBytes();
            long overhead = allocatedBytes() - probe; // what reading the counter allocates itself
            long before = allocatedBytes();
            for (int i = 0; i < 200; i++) {
                call.run();
            }
            best = Math.min(best, allocatedBytes() - before - overhead);
        }
        assertEquals(0, best, type + ": bytes allocated by 200 compiled forward+backward calls (best window)");
    }

    /**
     * {@code com.sun.management.ThreadMXBean.getCurrentThreadAllocatedBytes()}, by reflection: the tests
     * compile inside the backend's module, which does not read {@code java.management}.
     */
    private static long allocatedBytes() {
        try {
            if (threadBean == null) {
                threadBean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean")
                        .invoke(null);
                allocated = Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes");
            }
            return (long) allocated.invoke(threadBean);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("no allocation counter on this JVM", e);
        }
    }

    private static Object threadBean;
    private static java.lang.reflect.Method allocated;
}

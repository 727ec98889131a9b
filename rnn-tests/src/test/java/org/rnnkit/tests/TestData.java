package org.rnnkit.tests;

import java.util.SplittableRandom;
import org.rnnkit.tensor.Tensor;

/** Seeded test data shared by the cross-backend tests. */
public final class TestData {
    private TestData() {}

    /** A tensor of standard normal values drawn from {@code rnd}. */
    public static Tensor normal(SplittableRandom rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) rnd.nextGaussian();
        }
        return t;
    }

    /** Distance in units in the last place between two floats (across zero too). */
    public static long ulps(float a, float b) {
        return Math.abs(ordered(a) - ordered(b));
    }

    private static long ordered(float f) {
        int bits = Float.floatToIntBits(f);
        return bits < 0 ? (long) Integer.MIN_VALUE - bits : bits;
    }

    /**
     * Bytes allocated by {@code rounds} calls of {@code call} on this thread once warm: the smallest total
     * over repeated rounds, until it is at most {@code goalBytes} or 20 seconds have passed. Vector API code allocates until C2 has compiled it (the
     * interpreter and C1 box vectors), and on a busy 2-core machine with a long test run behind it C2 may
     * compile late, so "once warm" is measured, not assumed.
     */
    public static long steadyStateAllocation(Runnable call, int rounds, long goalBytes) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId(), least = Long.MAX_VALUE;
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (least > goalBytes && System.nanoTime() < deadline) {
            long before = threads.getThreadAllocatedBytes(id);
            for (int i = 0; i < rounds; i++) {
                call.run();
            }
            least = Math.min(least, threads.getThreadAllocatedBytes(id) - before);
        }
        return least;
    }
}

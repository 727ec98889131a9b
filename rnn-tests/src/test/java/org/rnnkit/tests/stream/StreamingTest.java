package org.rnnkit.tests.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.StreamState;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;
import org.rnnkit.tests.TestData;

/** Streaming state: chunked and step-by-step runs equal one-shot runs bit for bit, from many threads. */
class StreamingTest {

    /**
     * 1 000 sequences, 8 threads, one shared 2-layer LSTM with projection; each sequence is fed in chunks
     * of random sizes (1 to 9 steps) through its own state and must equal the one-shot run exactly.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void manyThreadsStreamThroughOneSharedLayer(Backend backend) throws Exception {
        RecurrentLayer lstm = RecurrentLayer.lstm(7, 12).numLayers(2).projSize(5).seed(21).backend(backend).build();
        int sequences = 1000, threads = 8;
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int w = 0; w < threads; w++) {
                done.add(pool.submit(() -> {
                    int checked = 0;
                    for (int s; (s = next.getAndIncrement()) < sequences; checked++) {
                        SplittableRandom rnd = new SplittableRandom(1000 + s);
                        int len = 1 + rnd.nextInt(30), batch = 1 + rnd.nextInt(3);
                        Tensor x = TestData.normal(rnd, len, batch, 7);
                        LayerOutput whole = lstm.forward(x);
                        StreamState state = lstm.newStream(batch);
                        float[] out = new float[len * batch * 5];
                        for (int t0 = 0; t0 < len; ) {
                            int n = Math.min(len - t0, 1 + rnd.nextInt(9));
                            lstm.stream(state, x.data(), t0 * batch * 7, n, out, t0 * batch * 5);
                            t0 += n;
                        }
                        String where = backend.name() + " sequence " + s + " (T=" + len + ", B=" + batch + ")";
                        assertTrue(Tensor.wrap(out, len, batch, 5).bitEquals(whole.output()), where + ": output");
                        assertTrue(state.h().bitEquals(whole.hN()), where + ": h");
                        assertTrue(state.c().bitEquals(whole.cN()), where + ": c");
                    }
                    return checked;
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) {
                total += f.get();
            }
            assertEquals(sequences, total);
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void stepByStepEqualsWholeForEveryTypeAndLayout(Backend backend) {
        for (CellType type : CellType.values()) {
            for (boolean batchFirst : new boolean[] {false, true}) {
                RecurrentLayer l = RecurrentLayer.builder(type).inputSize(4).hiddenSize(6).numLayers(3)
                        .batchFirst(batchFirst).seed(3).backend(backend).build();
                SplittableRandom rnd = new SplittableRandom(4);
                int len = 11, batch = 2;
                Tensor x = batchFirst ? TestData.normal(rnd, batch, len, 4) : TestData.normal(rnd, len, batch, 4);
                Tensor h0 = TestData.normal(rnd, 3, batch, 6);
                Tensor c0 = type == CellType.LSTM ? TestData.normal(rnd, 3, batch, 6) : null;
                LayerOutput whole = l.forward(x, h0, c0);
                StreamState st = l.newStream(batch);
                st.set(h0, c0);
                for (int t = 0; t < len; t++) {
                    Tensor step = Tensor.zeros(batchFirst ? new int[] {batch, 1, 4} : new int[] {1, batch, 4});
                    for (int b = 0; b < batch; b++) {
                        int src = batchFirst ? (b * len + t) * 4 : (t * batch + b) * 4;
                        System.arraycopy(x.data(), src, step.data(), b * 4, 4);
                    }
                    Tensor y = l.stream(st, step);
                    for (int b = 0; b < batch; b++) {
                        int dst = batchFirst ? (b * len + t) * 6 : (t * batch + b) * 6;
                        for (int j = 0; j < 6; j++) {
                            assertEquals(Float.floatToRawIntBits(whole.output().data()[dst + j]),
                                    Float.floatToRawIntBits(y.data()[b * 6 + j]),
                                    type + " batchFirst=" + batchFirst + " t=" + t + " b=" + b + " j=" + j);
                        }
                    }
                }
                assertTrue(st.h().bitEquals(whole.hN()), type + " h");
            }
        }
    }

    /**
     * Step-by-step streaming allocates nothing once the state's workspace has grown and the code is
     * compiled: measured with the JVM's per-thread allocation counter over 2 000 steps (a per-step
     * allocation of even one small object would show as tens of kilobytes).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void streamingAStepAllocatesNothing(Backend backend) {
        RecurrentLayer lstm = RecurrentLayer.lstm(8, 16).numLayers(2).seed(2).backend(backend).build();
        StreamState st = lstm.newStream(2);
        float[] x = new float[2 * 8], out = new float[2 * 16];
        java.util.Arrays.fill(x, 0.5f);
        String degraded = BackendSource.degradedReason(backend);
        if (degraded == null) {
            long allocated = TestData.steadyStateAllocation(() -> lstm.stream(st, x, 0, 1, out, 0), 2_000, 0);
            assertTrue(allocated < 4096, backend.name() + ": 2 000 streamed steps allocated " + allocated + " bytes");
        } else { // what holds there: the streamed steps give the bits of one whole run
            System.out.println("[rnnkit tests] StreamingTest: allocation not measured on " + backend.name()
                    + ", degraded here: " + degraded);
            int steps = 20;
            float[] whole = new float[steps * x.length];
            for (int t = 0; t < steps; t++) {
                System.arraycopy(x, 0, whole, t * x.length, x.length);
            }
            Tensor expected = lstm.forward(Tensor.wrap(whole, steps, 2, 8)).output();
            for (int t = 0; t < steps; t++) {
                lstm.stream(st, x, 0, 1, out, 0);
                for (int j = 0; j < out.length; j++) {
                    assertEquals(Float.floatToRawIntBits(expected.data()[t * out.length + j]),
                            Float.floatToRawIntBits(out[j]), backend.name() + " step " + t + " element " + j);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void resetOfChosenRowsRestartsOnlyThem(Backend backend) {
        RecurrentLayer gru = RecurrentLayer.gru(3, 5).seed(8).backend(backend).build();
        SplittableRandom rnd = new SplittableRandom(9);
        Tensor a = TestData.normal(rnd, 4, 2, 3), b = TestData.normal(rnd, 6, 2, 3);
        StreamState st = gru.newStream(2);
        gru.stream(st, a);
        st.reset(1);
        Tensor out = gru.stream(st, b);
        // row 0 continues a then b; row 1 sees only b from zeros
        Tensor ab = Tensor.zeros(10, 2, 3);
        System.arraycopy(a.data(), 0, ab.data(), 0, a.size());
        System.arraycopy(b.data(), 0, ab.data(), a.size(), b.size());
        LayerOutput row0 = gru.forward(ab), row1 = gru.forward(b);
        for (int t = 0; t < 6; t++) {
            for (int j = 0; j < 5; j++) {
                assertEquals(row0.output().data()[((4 + t) * 2) * 5 + j], out.data()[(t * 2) * 5 + j], 0f);
                assertEquals(row1.output().data()[(t * 2 + 1) * 5 + j], out.data()[(t * 2 + 1) * 5 + j], 0f);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void misuseIsRefusedWithAClearMessage(Backend backend) {
        RecurrentLayer bi = RecurrentLayer.lstm(3, 4).bidirectional(true).seed(1).backend(backend).build();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> bi.newStream(1));
        assertTrue(e.getMessage().contains("bidirectional layer cannot stream"), e.getMessage());
        RecurrentLayer uni = RecurrentLayer.lstm(3, 4).seed(1).backend(backend).build();
        StreamState st = uni.newStream(2);
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> uni.stream(st, Tensor.zeros(5, 3, 3)));
        assertTrue(wrong.getMessage().startsWith("chunk: expected (T, B, I) with B=2, I=3"), wrong.getMessage());
        IllegalArgumentException shortOut = assertThrows(IllegalArgumentException.class,
                () -> uni.stream(st, new float[12], 0, 2, new float[3], 0));
        assertTrue(shortOut.getMessage().startsWith("out: expected 16 floats from offset 0"), shortOut.getMessage());
        RecurrentLayer other = RecurrentLayer.lstm(3, 4).seed(2).backend(backend).build();
        assertThrows(IllegalArgumentException.class, () -> other.stream(st, Tensor.zeros(1, 2, 3)));
    }
}

package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.CellConfig;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/**
 * A built layer (and cell) is shareable: 8 threads calling one instance at once, each with its own
 * {@link Workspace} and many different inputs (different sequence lengths and batch sizes, so workspaces
 * grow and are reused), get exactly the bits a single thread gets.
 */
class ThreadSafetyTest {
    static final int THREADS = 8, INPUTS = 24, ROUNDS = 40;

    private static Tensor normal(long seed, int... shape) {
        return TestData.normal(new SplittableRandom(seed), shape);
    }

    /** Input {@code i} of the layer: T = 5..13, B = 1..4, I = 6. */
    private static Tensor layerInput(int i) {
        return normal(i, 5 + i % 9, 1 + i % 4, 6);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void eightThreadsShareOneLstmLayer(Backend backend) throws Exception {
        RecurrentLayer layer = RecurrentLayer.lstm(6, 10).numLayers(2).bidirectional(true).projSize(7).seed(4)
                .backend(backend).build();
        LayerOutput[] expected = new LayerOutput[INPUTS];
        for (int i = 0; i < INPUTS; i++) {
            Tensor x = layerInput(i);
            int b = x.dim(1);
            expected[i] = layer.forward(x, normal(100 + i, 4, b, 7), normal(200 + i, 4, b, 10));
        }
        concurrently(worker -> {
            ForwardOptions reused = ForwardOptions.defaults().withWorkspace(new Workspace());
            for (int round = 0; round < ROUNDS; round++) {
                int i = (worker * 7 + round) % INPUTS;
                Tensor x = layerInput(i);
                int b = x.dim(1);
                LayerOutput o = layer.forward(x, reused.withInitialState(normal(100 + i, 4, b, 7), normal(200 + i, 4, b, 10)));
                assertTrue(o.output().bitEquals(expected[i].output()) && o.hN().bitEquals(expected[i].hN())
                        && o.cN().bitEquals(expected[i].cN()), backend.name() + ": thread " + worker + ", input " + i);
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void eightThreadsShareOneCell(Backend backend) throws Exception {
        for (CellType type : new CellType[] {CellType.LSTM, CellType.GRU}) {
            RecurrentCell cell = RecurrentCell.initialized(new CellConfig(type, 6, 10, true), 5, backend);
            CellOutput[] expected = new CellOutput[INPUTS];
            for (int i = 0; i < INPUTS; i++) {
                int b = 1 + i % 5;
                expected[i] = cell.forward(normal(i, b, 6), normal(100 + i, b, 10),
                        type == CellType.LSTM ? normal(200 + i, b, 10) : null);
            }
            concurrently(worker -> {
                Workspace ws = new Workspace();
                for (int round = 0; round < ROUNDS; round++) {
                    int i = (worker * 5 + round) % INPUTS, b = 1 + i % 5;
                    CellOutput o = cell.forward(normal(i, b, 6), normal(100 + i, b, 10),
                            type == CellType.LSTM ? normal(200 + i, b, 10) : null, ws);
                    assertTrue(o.h().bitEquals(expected[i].h())
                            && (o.c() == null ? expected[i].c() == null : o.c().bitEquals(expected[i].c())),
                            backend.name() + " " + type + " cell: thread " + worker + ", input " + i);
                }
            });
        }
    }

    /**
     * {@link Backend#withThreads} changes no bit: forward and backward of layers large enough for a
     * splitting backend to split (batched, and batch 1 where the recurrence splits by hidden units) give the
     * same bits at 1, 2 and 3 threads.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void theThreadCountChangesNoBit(Backend backend) {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> backend.withThreads(0));
        org.junit.jupiter.api.Assertions.assertEquals("threads: expected >= 1, got 0", e.getMessage());
        for (CellType type : new CellType[] {CellType.LSTM, CellType.GRU, CellType.RNN_TANH}) {
            for (int batch : new int[] {1, 16}) {
                RecurrentLayer one = RecurrentLayer.builder(type).inputSize(64).hiddenSize(128).bidirectional(batch > 1).seed(9)
                        .backend(backend.withThreads(1)).build();
                Tensor x = normal(31 + batch, 50, batch, 64);
                var t1 = one.forwardTraining(x);
                Tensor gOut = normal(77, t1.output().output().shape());
                var g1 = one.backward(t1, gOut, null, null);
                for (int threads : new int[] {2, 3}) {
                    RecurrentLayer many = one.withBackend(backend.withThreads(threads));
                    var tn = many.forwardTraining(x);
                    var gn = many.backward(tn, gOut, null, null);
                    String what = backend.name() + " " + type + " B=" + batch + " at " + threads + " threads";
                    assertTrue(tn.output().output().bitEquals(t1.output().output()), what + ": output");
                    assertTrue(tn.output().hN().bitEquals(t1.output().hN()), what + ": h_n");
                    assertTrue(gn.input().bitEquals(g1.input()), what + ": input gradient");
                    for (var p : g1.parameters().entrySet()) {
                        assertTrue(gn.parameters().get(p.getKey()).bitEquals(p.getValue()), what + ": " + p.getKey());
                    }
                }
            }
        }
    }

    /**
     * Inference at small batches, where a backend may split each step by hidden units (native: from 196 608
     * recurrent multiply-adds a step and 4M a call, so LSTM 256 and GRU, RNN 512 here): the same bits at
     * 1, 2 and 3 threads, with per-row lengths, both directions, two layers and a given state; and again
     * with four Java threads making such calls at once (the native pool then runs some of them on their
     * caller's thread alone).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void smallBatchInferenceChangesNoBitWithThreads(Backend backend) throws Exception {
        for (CellType type : new CellType[] {CellType.LSTM, CellType.GRU, CellType.RNN_TANH}) {
            int hidden = type == CellType.LSTM ? 256 : 512;
            for (int batch : new int[] {1, 3}) {
                RecurrentLayer one = RecurrentLayer.builder(type).inputSize(32).hiddenSize(hidden).numLayers(2)
                        .bidirectional(true).seed(5).backend(backend.withThreads(1)).build();
                Tensor x = normal(41 + batch, 40, batch, 32), h0 = normal(43 + batch, 4, batch, hidden);
                Tensor c0 = type == CellType.LSTM ? normal(47 + batch, 4, batch, hidden) : null;
                int[] lengths = batch == 1 ? null : new int[] {40, 23, 9};
                LayerOutput want = one.forward(x, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0));
                for (int threads : new int[] {2, 3}) {
                    RecurrentLayer many = one.withBackend(backend.withThreads(threads));
                    String what = backend.name() + " " + type + " B=" + batch + " at " + threads + " threads";
                    assertSame(want, many.forward(x, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0)), what);
                    if (threads == 2) {
                        concurrently(worker -> {
                            Workspace ws = new Workspace();
                            for (int round = 0; round < 3; round++) {
                                assertSame(want, many.forward(x, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0).withWorkspace(ws)), what + ", Java thread " + worker);
                            }
                        }, 4);
                    }
                }
            }
        }
    }

    private static void assertSame(LayerOutput want, LayerOutput got, String what) {
        assertTrue(got.output().bitEquals(want.output()), what + ": output");
        assertTrue(got.hN().bitEquals(want.hN()), what + ": h_n");
        assertTrue(got.cN() == null ? want.cN() == null : got.cN().bitEquals(want.cN()), what + ": c_n");
    }

    interface Worker {
        void run(int worker) throws Exception;
    }

    /** Runs {@code body} on {@value #THREADS} threads released at the same moment; rethrows the first failure. */
    private static void concurrently(Worker body) throws Exception {
        concurrently(body, THREADS);
    }

    private static void concurrently(Worker body, int threads) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < threads; w++) {
                int worker = w;
                done.add(pool.submit(() -> {
                    start.await();
                    body.run(worker);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw e;
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

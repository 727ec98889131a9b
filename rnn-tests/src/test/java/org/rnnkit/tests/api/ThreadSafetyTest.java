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
import org.rnnkit.nn.CellConfig;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.spi.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/** A loaded layer (and cell) is shareable: 8 threads at once get the same bits as one thread. */
class ThreadSafetyTest {

    private static Tensor input(long seed, int... shape) {
        return TestData.normal(new SplittableRandom(seed), shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void eightThreadsShareOneLayerAndOneCell(Backend backend) throws Exception {
        RecurrentLayer layer = RecurrentLayer.lstm(6, 10).numLayers(2).bidirectional(true).projSize(7).seed(4)
                .backend(backend).build();
        RecurrentCell cell = RecurrentCell.initialized(new CellConfig(CellType.GRU, 6, 10, true), 5, backend);
        int inputs = 24;
        LayerOutput[] expected = new LayerOutput[inputs];
        CellOutput[] expectedCell = new CellOutput[inputs];
        for (int i = 0; i < inputs; i++) {
            expected[i] = layer.forward(input(i, 9 + i % 5, 3, 6));
            expectedCell[i] = cell.forward(input(i, 3, 6));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                int worker = w;
                done.add(pool.submit(() -> {
                    start.await();
                    Workspace ws = new Workspace();
                    for (int round = 0; round < 20; round++) {
                        int i = (worker * 7 + round) % inputs;
                        LayerOutput o = layer.forward(input(i, 9 + i % 5, 3, 6), null, null, ws);
                        assertTrue(o.output().bitEquals(expected[i].output()), "layer output, input " + i);
                        assertTrue(o.hN().bitEquals(expected[i].hN()) && o.cN().bitEquals(expected[i].cN()),
                                "layer state, input " + i);
                        CellOutput c = cell.forward(input(i, 3, 6), null, null, ws);
                        assertTrue(c.h().bitEquals(expectedCell[i].h()), "cell, input " + i);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

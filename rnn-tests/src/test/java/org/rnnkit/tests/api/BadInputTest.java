package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.TestFactory;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.CellConfig;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;

/**
 * Bad input gets a clear exception naming the argument with the expected and actual value, thrown by
 * rnn-api before any backend runs, so every backend gives the same type and the same message. Per misuse:
 * one test per backend (exception type and exact message), then one that the messages collected from all
 * backends are identical.
 *
 * <p>The layer used by most misuses is {@code nn.LSTM(3, 4, num_layers=2)}: state shape {@code (2, B, 4)}.
 */
class BadInputTest {

    /** A named misuse and the exception type and exact message it must produce. */
    record Misuse(String name, Class<? extends RuntimeException> type, String message, Function<Backend, Object> call) {}

    static final List<Misuse> MISUSES = List.of(
            new Misuse("zero-length sequence", IllegalArgumentException.class,
                    "input: sequence length must be at least 1, got (0, 2, 3)",
                    b -> lstm(b).forward(Tensor.zeros(0, 2, 3))),
            new Misuse("zero-length sequence, unbatched", IllegalArgumentException.class,
                    "input: sequence length must be at least 1, got (0, 3)",
                    b -> lstm(b).forward(Tensor.zeros(0, 3))),
            new Misuse("wrong input width", IllegalArgumentException.class,
                    "input: expected last dimension input_size=3, got (5, 2, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 4))),
            new Misuse("wrong input width, batch_first", IllegalArgumentException.class,
                    "input: expected last dimension input_size=3, got (2, 5, 7)",
                    b -> RecurrentLayer.gru(3, 4).batchFirst(true).seed(1).backend(b).build()
                            .forward(Tensor.zeros(2, 5, 7))),
            new Misuse("input of rank 1", IllegalArgumentException.class,
                    "input: expected (T, B, I) or unbatched (T, I) with I=3, got (3,)",
                    b -> lstm(b).forward(Tensor.zeros(3))),
            new Misuse("input of rank 4", IllegalArgumentException.class,
                    "input: expected (T, B, I) or unbatched (T, I) with I=3, got (5, 2, 1, 3)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 1, 3))),
            new Misuse("batch 0", IllegalArgumentException.class,
                    "input: batch size must be at least 1, got (5, 0, 3)",
                    b -> lstm(b).forward(Tensor.zeros(5, 0, 3))),
            new Misuse("h0 of the wrong hidden size", IllegalArgumentException.class,
                    "h0: expected shape (2, 2, 4), got (2, 2, 5)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), Tensor.zeros(2, 2, 5))),
            new Misuse("h0 of the wrong batch", IllegalArgumentException.class,
                    "h0: expected shape (2, 2, 4), got (2, 3, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), Tensor.zeros(2, 3, 4))),
            new Misuse("h0 with the wrong number of layers", IllegalArgumentException.class,
                    "h0: expected shape (2, 2, 4), got (1, 2, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), Tensor.zeros(1, 2, 4))),
            new Misuse("h0 without a batch axis for batched input", IllegalArgumentException.class,
                    "h0: expected shape (2, 2, 4), got (2, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), Tensor.zeros(2, 4))),
            new Misuse("unbatched input with a batched h0", IllegalArgumentException.class,
                    "h0: expected shape (2, 4), got (2, 1, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 3), Tensor.zeros(2, 1, 4))),
            new Misuse("bidirectional h0 with one direction's states", IllegalArgumentException.class,
                    "h0: expected shape (2, 1, 4), got (1, 1, 4)",
                    b -> RecurrentLayer.gru(3, 4).bidirectional(true).seed(1).backend(b).build()
                            .forward(Tensor.zeros(5, 1, 3), Tensor.zeros(1, 1, 4))),
            new Misuse("h0 of width H with proj_size", IllegalArgumentException.class,
                    "h0: expected shape (1, 2, 2), got (1, 2, 4)",
                    b -> RecurrentLayer.lstm(3, 4).projSize(2).seed(1).backend(b).build()
                            .forward(Tensor.zeros(5, 2, 3), Tensor.zeros(1, 2, 4))),
            new Misuse("c0 of the wrong shape", IllegalArgumentException.class,
                    "c0: expected shape (2, 2, 4), got (2, 2, 5)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), null, Tensor.zeros(2, 2, 5))),
            new Misuse("c0 on a GRU", IllegalArgumentException.class,
                    "c0: only LSTM layers have a cell state; got c0 for GRU",
                    b -> RecurrentLayer.gru(3, 4).seed(1).backend(b).build().forward(Tensor.zeros(5, 2, 3), null,
                            Tensor.zeros(1, 2, 4))),
            new Misuse("null input", NullPointerException.class, "input: expected a tensor, got null",
                    b -> lstm(b).forward(null)),
            new Misuse("null workspace", NullPointerException.class, "ws: expected a Workspace, got null",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), ForwardOptions.defaults().withWorkspace(null))),
            new Misuse("lengths of the wrong size", IllegalArgumentException.class,
                    "lengths: expected 2 values (one per batch row), got 3",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), ForwardOptions.defaults().withLengths(new int[] {1, 2, 3}))),
            new Misuse("a length of 0", IllegalArgumentException.class,
                    "lengths[1]: expected 1..5 (the sequence length), got 0",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), ForwardOptions.defaults().withLengths(new int[] {5, 0}))),
            new Misuse("a length above T", IllegalArgumentException.class,
                    "lengths[0]: expected 1..5 (the sequence length), got 6",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), ForwardOptions.defaults().withLengths(new int[] {6, 1}))),
            new Misuse("lengths with unbatched input", IllegalArgumentException.class,
                    "lengths: per-row lengths need batched input; got unbatched input (5, 3)",
                    b -> lstm(b).forward(Tensor.zeros(5, 3), ForwardOptions.defaults().withLengths(new int[] {5}))),
            new Misuse("cell input of the wrong size", IllegalArgumentException.class,
                    "input: expected (B, 3) or unbatched (3,), got (2, 5)",
                    b -> cell(b).forward(Tensor.zeros(2, 5))),
            new Misuse("cell input of rank 3", IllegalArgumentException.class,
                    "input: expected (B, 3) or unbatched (3,), got (1, 2, 3)",
                    b -> cell(b).forward(Tensor.zeros(1, 2, 3))),
            new Misuse("cell batch 0", IllegalArgumentException.class,
                    "input: batch size must be at least 1, got (0, 3)",
                    b -> cell(b).forward(Tensor.zeros(0, 3))),
            new Misuse("cell state of the wrong size", IllegalArgumentException.class,
                    "h: expected shape (2, 4), got (2, 3)",
                    b -> cell(b).forward(Tensor.zeros(2, 3), Tensor.zeros(2, 3))),
            new Misuse("unbatched cell input with a batched state", IllegalArgumentException.class,
                    "h: expected shape (4,), got (1, 4)",
                    b -> cell(b).forward(Tensor.zeros(3), Tensor.zeros(1, 4))),
            new Misuse("c on a GRU cell", IllegalArgumentException.class,
                    "c: only the LSTM cell has a cell state; got c for GRU",
                    b -> cell(b).forward(Tensor.zeros(2, 3), null, Tensor.zeros(2, 4))),
            new Misuse("LSTM cell c of the wrong size", IllegalArgumentException.class,
                    "c: expected shape (2, 4), got (2, 5)",
                    b -> RecurrentCell.initialized(new CellConfig(CellType.LSTM, 3, 4, true), 1, b)
                            .forward(Tensor.zeros(2, 3), null, Tensor.zeros(2, 5))),
            new Misuse("null cell input", NullPointerException.class, "input: expected a tensor, got null",
                    b -> cell(b).forward(null)),
            new Misuse("stream offset past the end", IllegalArgumentException.class,
                    "x: expected 6 floats from offset 10, but the array has 12",
                    b -> {
                        RecurrentLayer l = RecurrentLayer.lstm(3, 4).seed(1).backend(b).build();
                        l.stream(l.newStream(2), new float[12], 10, 1, new float[8], 0);
                        return null;
                    }),
            new Misuse("a missing weight", IllegalArgumentException.class, "missing tensor 'bias_hh_l0' of shape (16,)",
                    b -> {
                        Map<String, Tensor> sd = new LinkedHashMap<>(lstm(b).stateDict());
                        sd.remove("bias_hh_l0");
                        return RecurrentLayer.of(lstm(b).config(), sd, b);
                    }),
            new Misuse("proj_size not below hidden_size", IllegalArgumentException.class,
                    "proj_size: expected smaller than hidden_size=4, got 4",
                    b -> RecurrentLayer.lstm(3, 4).projSize(4).backend(b).build()));

    static RecurrentLayer lstm(Backend b) {
        return RecurrentLayer.lstm(3, 4).numLayers(2).seed(1).backend(b).build();
    }

    static RecurrentCell cell(Backend b) {
        return RecurrentCell.initialized(new CellConfig(CellType.GRU, 3, 4, true), 1, b);
    }

    @TestFactory
    Stream<DynamicNode> sameExceptionAndMessageOnEveryBackend() {
        List<Named<Backend>> backends = BackendSource.all().toList();
        return MISUSES.stream().map(m -> {
            Map<String, String> messages = new LinkedHashMap<>();
            List<DynamicNode> nodes = new ArrayList<>();
            for (Named<Backend> nb : backends) {
                nodes.add(DynamicTest.dynamicTest(nb.getName(), () -> {
                    Backend backend = BackendSource.require(nb.getPayload());
                    RuntimeException e = assertThrows(m.type(), () -> m.call().apply(backend),
                            m.name() + " on " + backend.name());
                    assertEquals(m.message(), e.getMessage(), m.name() + " on " + backend.name());
                    messages.put(backend.name(), e.getClass().getName() + ": " + e.getMessage());
                }));
            }
            nodes.add(DynamicTest.dynamicTest("identical on every backend", () -> {
                assertTrue(!messages.isEmpty(), "no backend ran");
                assertEquals(1, messages.values().stream().distinct().count(),
                        m.name() + ": type and message differ between backends: " + messages);
            }));
            return DynamicContainer.dynamicContainer(m.name(), nodes);
        });
    }
}

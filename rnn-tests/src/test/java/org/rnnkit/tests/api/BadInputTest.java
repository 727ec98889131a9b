package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.rnnkit.nn.CellConfig;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.spi.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;

/**
 * Bad input gets a clear exception naming the argument with the expected and actual value, thrown by
 * rnn-api before any backend runs, so every backend gives the same type and message.
 */
class BadInputTest {

    /** A named misuse and the exception type and message start it must produce. */
    record Misuse(String name, Class<? extends RuntimeException> type, String message, Function<Backend, Object> call) {}

    static final List<Misuse> MISUSES = List.of(
            new Misuse("zero-length sequence", IllegalArgumentException.class,
                    "input: sequence length must be at least 1, got (0, 2, 3)",
                    b -> lstm(b).forward(Tensor.zeros(0, 2, 3))),
            new Misuse("wrong input width", IllegalArgumentException.class,
                    "input: expected last dimension input_size=3, got (5, 2, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 4))),
            new Misuse("wrong rank", IllegalArgumentException.class,
                    "input: expected (T, B, I) or unbatched (T, I) with I=3, got (3,)",
                    b -> lstm(b).forward(Tensor.zeros(3))),
            new Misuse("batch 0", IllegalArgumentException.class,
                    "input: batch size must be at least 1, got (5, 0, 3)",
                    b -> lstm(b).forward(Tensor.zeros(5, 0, 3))),
            new Misuse("h0 of the wrong shape", IllegalArgumentException.class,
                    "h0: expected shape (2, 2, 4), got (2, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), Tensor.zeros(2, 4))),
            new Misuse("h0 with the wrong number of layers", IllegalArgumentException.class,
                    "h0: expected shape (2, 2, 4), got (1, 2, 4)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), Tensor.zeros(1, 2, 4))),
            new Misuse("c0 of the wrong shape", IllegalArgumentException.class,
                    "c0: expected shape (2, 2, 4), got (2, 2, 5)",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), null, Tensor.zeros(2, 2, 5))),
            new Misuse("c0 on a GRU", IllegalArgumentException.class,
                    "c0: only LSTM layers have a cell state; got c0 for GRU",
                    b -> RecurrentLayer.gru(3, 4).backend(b).build().forward(Tensor.zeros(5, 2, 3), null,
                            Tensor.zeros(1, 2, 4))),
            new Misuse("null input", NullPointerException.class, "input: expected a tensor, got null",
                    b -> lstm(b).forward(null)),
            new Misuse("lengths of the wrong size", IllegalArgumentException.class,
                    "lengths: expected 2 values (one per batch row), got 3",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), new int[] {1, 2, 3}, null, null, new Workspace())),
            new Misuse("a length of 0", IllegalArgumentException.class,
                    "lengths[1]: expected 1..5 (the sequence length), got 0",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), new int[] {5, 0}, null, null, new Workspace())),
            new Misuse("a length above T", IllegalArgumentException.class,
                    "lengths[0]: expected 1..5 (the sequence length), got 6",
                    b -> lstm(b).forward(Tensor.zeros(5, 2, 3), new int[] {6, 1}, null, null, new Workspace())),
            new Misuse("cell input of the wrong size", IllegalArgumentException.class,
                    "input: expected (B, 3) or unbatched (3,), got (2, 5)",
                    b -> cell(b).forward(Tensor.zeros(2, 5))),
            new Misuse("cell state of the wrong size", IllegalArgumentException.class,
                    "h: expected shape (2, 4), got (2, 3)",
                    b -> cell(b).forward(Tensor.zeros(2, 3), Tensor.zeros(2, 3))),
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

    @Test
    void sameExceptionAndMessageOnEveryBackend() {
        List<Named<Backend>> backends = BackendSource.usable().toList();
        for (Misuse m : MISUSES) {
            String first = null;
            for (Named<Backend> nb : backends) {
                RuntimeException e = assertThrows(m.type(), () -> m.call().apply(nb.getPayload()),
                        m.name() + " on " + nb.getName());
                assertTrue(e.getMessage().startsWith(m.message()),
                        m.name() + " on " + nb.getName() + ": message '" + e.getMessage() + "' should start with '"
                                + m.message() + "'");
                if (first == null) {
                    first = e.getMessage();
                } else {
                    assertEquals(first, e.getMessage(), m.name() + ": same message on every backend");
                }
            }
        }
    }
}

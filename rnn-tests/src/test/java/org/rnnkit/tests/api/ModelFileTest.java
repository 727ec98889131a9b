package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.nn.CellConfig;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.spi.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/** Model files: what rnnkit saves loads back bit-identically; a broken file is refused with a precise message. */
class ModelFileTest {

    private static Tensor input(int... shape) {
        return TestData.normal(new SplittableRandom(1), shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void layersAndCellsRoundTripBitIdentically(Backend backend, @TempDir Path tmp) throws IOException {
        RecurrentLayer[] layers = {
            RecurrentLayer.lstm(5, 8).numLayers(2).bidirectional(true).projSize(3).batchFirst(true).seed(1)
                    .backend(backend).build(),
            RecurrentLayer.gru(4, 6).numLayers(3).bias(false).seed(2).backend(backend).build(),
            RecurrentLayer.rnn(3, 7, CellType.RNN_RELU).bidirectional(true).seed(3).backend(backend).build(),
        };
        for (RecurrentLayer l : layers) {
            Path f = tmp.resolve("layer.safetensors");
            l.save(f);
            RecurrentLayer back = RecurrentLayer.load(f, backend);
            assertEquals(l.config(), back.config());
            l.stateDict().forEach((k, v) -> assertTrue(v.bitEquals(back.stateDict().get(k)), k));
            Tensor x = l.config().batchFirst() ? input(2, 6, l.config().inputSize()) : input(6, 2, l.config().inputSize());
            assertTrue(l.forward(x).output().bitEquals(back.forward(x).output()), l.toString());
            byte[] again = SafeTensors.toBytes(back.stateDict(), back.config().toMetadata());
            assertTrue(Arrays.equals(Files.readAllBytes(f), again), "re-saving gives the same bytes");
        }
        RecurrentCell cell = RecurrentCell.initialized(new CellConfig(CellType.LSTM, 4, 5, true), 9, backend);
        Path f = tmp.resolve("cell.safetensors");
        cell.save(f);
        RecurrentCell back = RecurrentCell.load(f, backend);
        assertEquals(cell.config(), back.config());
        assertTrue(cell.forward(input(3, 4)).h().bitEquals(back.forward(input(3, 4)).h()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void brokenFilesNameTheTensor(Backend backend, @TempDir Path tmp) throws IOException {
        RecurrentLayer l = RecurrentLayer.lstm(5, 8).numLayers(2).seed(1).backend(backend).build();
        Map<String, String> meta = l.config().toMetadata();

        Map<String, Tensor> wrongShape = new LinkedHashMap<>(l.stateDict());
        wrongShape.put("weight_hh_l1", Tensor.zeros(32, 7));
        assertMessage(backend, tmp, wrongShape, meta, "tensor 'weight_hh_l1': expected shape (32, 8), got (32, 7)");

        Map<String, Tensor> missing = new LinkedHashMap<>(l.stateDict());
        missing.remove("bias_ih_l1");
        assertMessage(backend, tmp, missing, meta, "missing tensor 'bias_ih_l1' of shape (32,)");

        Map<String, Tensor> extra = new LinkedHashMap<>(l.stateDict());
        extra.put("weight_hr_l0", Tensor.zeros(2, 8));
        assertMessage(backend, tmp, extra, meta, "unexpected tensor 'weight_hr_l0'");

        Map<String, String> noMode = new LinkedHashMap<>(meta);
        noMode.remove("mode");
        assertMessage(backend, tmp, l.stateDict(), noMode, "metadata: missing key 'mode'");

        Map<String, String> badHidden = new LinkedHashMap<>(meta);
        badHidden.put("hidden_size", "eight");
        assertMessage(backend, tmp, l.stateDict(), badHidden, "metadata: hidden_size: expected a decimal integer, got 'eight'");

        // a truncated buffer: the last tensor's data is cut short
        Path f = tmp.resolve("truncated.safetensors");
        byte[] all = SafeTensors.toBytes(l.stateDict(), meta);
        Files.write(f, Arrays.copyOf(all, all.length - 10));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> RecurrentLayer.load(f, backend));
        assertTrue(e.getMessage().contains("bias_hh_l1"), "names the cut tensor: " + e.getMessage());
    }

    private static void assertMessage(Backend backend, Path tmp, Map<String, Tensor> tensors, Map<String, String> meta,
            String expected) throws IOException {
        Path f = tmp.resolve("broken.safetensors");
        SafeTensors.write(f, tensors, meta);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> RecurrentLayer.load(f, backend));
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should contain '" + expected + "'");
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
    }
}

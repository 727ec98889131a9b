package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.nn.CellConfig;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/**
 * Model files: what rnnkit saves loads back bit-identically (configuration, parameters, forward results,
 * and the bytes when saved again), for layers with every option and for every cell; a broken file is
 * refused with a {@link ModelFormatException} that names the file and the tensor or metadata key, with
 * expected and actual shapes where they matter.
 */
class ModelFileTest {

    /** Layers covering every type and option: layers 1-3, bidirectional, batch_first, bias, proj_size, merge modes. */
    static List<RecurrentConfig> layerConfigs() {
        List<RecurrentConfig> l = new ArrayList<>();
        for (CellType t : CellType.values()) {
            l.add(new RecurrentConfig(t, 5, 8, 1, true, false, false, 0));
            l.add(new RecurrentConfig(t, 3, 7, 2, false, true, true, 0));
            l.add(new RecurrentConfig(t, 4, 6, 3, true, false, true, 0, MergeMode.AVERAGE));
        }
        l.add(new RecurrentConfig(CellType.LSTM, 5, 8, 2, true, true, true, 3));
        l.add(new RecurrentConfig(CellType.LSTM, 5, 8, 1, false, false, false, 1));
        l.add(new RecurrentConfig(CellType.LSTM, 4, 6, 2, true, false, true, 5, MergeMode.MUL));
        l.add(new RecurrentConfig(CellType.GRU, 4, 6, 2, true, true, true, 0, MergeMode.SUM));
        return l;
    }

    private static Tensor normal(long seed, int... shape) {
        return TestData.normal(new SplittableRandom(seed), shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void layersRoundTripBitIdentically(Backend backend, @TempDir Path tmp) throws IOException {
        int n = 0;
        for (RecurrentConfig cfg : layerConfigs()) {
            RecurrentLayer l = RecurrentLayer.builder(cfg.type()).inputSize(cfg.inputSize()).hiddenSize(cfg.hiddenSize())
                    .numLayers(cfg.numLayers()).bias(cfg.bias()).batchFirst(cfg.batchFirst())
                    .bidirectional(cfg.bidirectional()).projSize(cfg.projSize()).mergeMode(cfg.mergeMode()).seed(++n)
                    .backend(backend).build();
            Path f = tmp.resolve("layer" + n + ".safetensors");
            l.save(f);
            RecurrentLayer back = RecurrentLayer.load(f, backend);
            String what = cfg.toString();
            assertEquals(cfg, back.config(), what);
            assertEquals(List.copyOf(l.stateDict().keySet()), List.copyOf(back.stateDict().keySet()), what + ": key order");
            l.stateDict().forEach((k, v) -> assertTrue(v.bitEquals(back.stateDict().get(k)), what + ": " + k));
            int t = 6, b = 2, s = cfg.stateCount();
            Tensor x = cfg.batchFirst() ? normal(n, b, t, cfg.inputSize()) : normal(n, t, b, cfg.inputSize());
            Tensor h0 = normal(n + 100, s, b, cfg.hOut());
            Tensor c0 = cfg.type() == CellType.LSTM ? normal(n + 200, s, b, cfg.hiddenSize()) : null;
            LayerOutput a = l.forward(x, h0, c0), z = back.forward(x, h0, c0);
            assertTrue(a.output().bitEquals(z.output()) && a.hN().bitEquals(z.hN())
                    && (c0 == null || a.cN().bitEquals(z.cN())), what + ": forward results");
            byte[] again = SafeTensors.toBytes(back.stateDict(), back.config().toMetadata());
            assertArrayEquals(Files.readAllBytes(f), again, what + ": saving the loaded layer gives the same bytes");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void cellsRoundTripBitIdentically(Backend backend, @TempDir Path tmp) throws IOException {
        int n = 0;
        for (CellType type : CellType.values()) {
            for (boolean bias : new boolean[] {true, false}) {
                CellConfig cfg = new CellConfig(type, 4, 5, bias);
                RecurrentCell cell = RecurrentCell.initialized(cfg, ++n, backend);
                Path f = tmp.resolve("cell" + n + ".safetensors");
                cell.save(f);
                RecurrentCell back = RecurrentCell.load(f, backend);
                assertEquals(cfg, back.config());
                cell.stateDict().forEach((k, v) -> assertTrue(v.bitEquals(back.stateDict().get(k)), cfg + ": " + k));
                Tensor x = normal(n, 3, 4), h = normal(n + 1, 3, 5), c = type == CellType.LSTM ? normal(n + 2, 3, 5) : null;
                CellOutput a = cell.forward(x, h, c), z = back.forward(x, h, c);
                assertTrue(a.h().bitEquals(z.h()) && (c == null || a.c().bitEquals(z.c())), cfg + ": forward results");
                assertArrayEquals(Files.readAllBytes(f), SafeTensors.toBytes(back.stateDict(), back.config().toMetadata()),
                        cfg + ": same bytes when saved again");
                // a cell file is not a layer file, and the reverse
                ModelFormatException e = assertThrows(ModelFormatException.class, () -> RecurrentLayer.load(f, backend));
                assertTrue(e.getMessage().contains("cell=true"), e.getMessage());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void brokenLayerFilesNameTheTensorOrKey(Backend backend, @TempDir Path tmp) throws IOException {
        RecurrentLayer l = RecurrentLayer.lstm(5, 8).numLayers(2).seed(1).backend(backend).build();
        Map<String, String> meta = l.config().toMetadata();
        Path f = tmp.resolve("broken.safetensors");

        Map<String, Tensor> wrongShape = new LinkedHashMap<>(l.stateDict());
        wrongShape.put("weight_hh_l1", Tensor.zeros(32, 7));
        write(f, wrongShape, meta);
        expect(f, () -> RecurrentLayer.load(f, backend), "tensor 'weight_hh_l1': expected shape (32, 8), got (32, 7)");

        Map<String, Tensor> missing = new LinkedHashMap<>(l.stateDict());
        missing.remove("bias_ih_l1");
        write(f, missing, meta);
        expect(f, () -> RecurrentLayer.load(f, backend), "missing tensor 'bias_ih_l1' of shape (32,)");

        Map<String, Tensor> extra = new LinkedHashMap<>(l.stateDict());
        extra.put("weight_hr_l0", Tensor.zeros(2, 8));
        write(f, extra, meta);
        expect(f, () -> RecurrentLayer.load(f, backend), "unexpected tensor 'weight_hr_l0'");

        Map<String, String> noMode = new LinkedHashMap<>(meta);
        noMode.remove("mode");
        write(f, l.stateDict(), noMode);
        expect(f, () -> RecurrentLayer.load(f, backend), "metadata: missing key 'mode'");

        Map<String, String> noHidden = new LinkedHashMap<>(meta);
        noHidden.remove("hidden_size");
        write(f, l.stateDict(), noHidden);
        expect(f, () -> RecurrentLayer.load(f, backend), "metadata: missing key 'hidden_size'");

        Map<String, String> badHidden = new LinkedHashMap<>(meta);
        badHidden.put("hidden_size", "eight");
        write(f, l.stateDict(), badHidden);
        expect(f, () -> RecurrentLayer.load(f, backend), "metadata: hidden_size: expected a decimal integer, got 'eight'");

        Map<String, String> badBool = new LinkedHashMap<>(meta);
        badBool.put("bidirectional", "maybe");
        write(f, l.stateDict(), badBool);
        expect(f, () -> RecurrentLayer.load(f, backend), "metadata: bidirectional: expected true or false, got 'maybe'");

        Map<String, String> badMode = new LinkedHashMap<>(meta);
        badMode.put("mode", "TRANSFORMER");
        write(f, l.stateDict(), badMode);
        expect(f, () -> RecurrentLayer.load(f, backend), "mode: expected one of RNN_TANH, RNN_RELU, LSTM, GRU, got 'TRANSFORMER'");

        // a truncated buffer: the last tensor's data is cut short
        byte[] all = SafeTensors.toBytes(l.stateDict(), meta);
        Files.write(f, Arrays.copyOf(all, all.length - 10));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> RecurrentLayer.load(f, backend));
        assertTrue(e.getMessage().contains("'bias_hh_l1'"), "names the cut tensor: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void brokenCellFilesNameTheTensorOrKey(Backend backend, @TempDir Path tmp) throws IOException {
        RecurrentCell cell = RecurrentCell.initialized(new CellConfig(CellType.GRU, 4, 5, true), 3, backend);
        Map<String, String> meta = cell.config().toMetadata();
        Path f = tmp.resolve("cell.safetensors");

        Map<String, Tensor> wrongShape = new LinkedHashMap<>(cell.stateDict());
        wrongShape.put("weight_ih", Tensor.zeros(15, 5));
        write(f, wrongShape, meta);
        expect(f, () -> RecurrentCell.load(f, backend), "tensor 'weight_ih': expected shape (15, 4), got (15, 5)");

        Map<String, Tensor> missing = new LinkedHashMap<>(cell.stateDict());
        missing.remove("weight_hh");
        write(f, missing, meta);
        expect(f, () -> RecurrentCell.load(f, backend), "missing tensor 'weight_hh' of shape (15, 5)");

        Map<String, Tensor> layerNames = new LinkedHashMap<>(cell.stateDict());
        layerNames.put("weight_ih_l0", layerNames.remove("weight_ih"));
        write(f, layerNames, meta);
        expect(f, () -> RecurrentCell.load(f, backend), "unexpected tensor 'weight_ih_l0'");

        Map<String, String> noMode = new LinkedHashMap<>(meta);
        noMode.remove("mode");
        write(f, cell.stateDict(), noMode);
        expect(f, () -> RecurrentCell.load(f, backend), "metadata: missing key 'mode'");

        Map<String, String> badInput = new LinkedHashMap<>(meta);
        badInput.put("input_size", "4.0");
        write(f, cell.stateDict(), badInput);
        expect(f, () -> RecurrentCell.load(f, backend), "metadata: input_size: expected a decimal integer, got '4.0'");
    }

    private static void write(Path f, Map<String, Tensor> tensors, Map<String, String> meta) throws IOException {
        SafeTensors.write(f, tensors, meta);
    }

    private static void expect(Path f, Executable load, String expected) {
        ModelFormatException e = assertThrows(ModelFormatException.class, load, expected);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should contain '" + expected + "'");
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
    }
}

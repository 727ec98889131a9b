package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.Npy;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.LoadOptions;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;

/**
 * {@link RecurrentLayer#load} tells a file's format by its content (safetensors, and the formats of the
 * modules on the class path: ONNX, PyTorch, Keras), takes load options only where a file cannot say something,
 * and names what it refuses.
 */
class ModelFormatsTest {
    private static final Backend SCALAR = Backends.named("scalar");

    private static Path testdata(String rel) {
        return Path.of(System.getProperty("rnnkit.testdata", "../testdata")).resolve(rel);
    }

    /** The case's layer against its expected .npy files, within the golden forward tolerance. */
    private static void matches(RecurrentLayer layer, Path c) throws IOException {
        Tensor h0 = Files.exists(c.resolve("h0.npy")) ? Npy.readFloat32(c.resolve("h0.npy")) : null;
        Tensor c0 = Files.exists(c.resolve("c0.npy")) ? Npy.readFloat32(c.resolve("c0.npy")) : null;
        LayerOutput y = layer.forward(Npy.readFloat32(c.resolve("input.npy")),
                ForwardOptions.defaults().withInitialState(h0, c0));
        Tolerance.Check k = Tolerance.FORWARD.compare("output", y.output().data(),
                Npy.readFloat32(c.resolve("output.npy")).data());
        assertTrue(k.passed(), c.getFileName() + ": " + k);
    }

    @Test
    void onnxAndPytorchFilesLoadByTheirContent(@TempDir Path tmp) throws Exception {
        Path onnx = testdata("onnx/torch/008_onnx_lstm_bf_i9_h8_s6_b4");
        Path renamed = tmp.resolve("model.bin"); // the name says nothing
        Files.copy(onnx.resolve("model.onnx"), renamed);
        RecurrentLayer fromOnnx = RecurrentLayer.load(renamed, SCALAR);
        assertTrue(fromOnnx.config().batchFirst());
        matches(fromOnnx, onnx);

        Path module = testdata("torch/004_pt-module_lstm_module_bf_nobias_i4_h33_s9_b4");
        matches(RecurrentLayer.load(module.resolve("model.pt"), SCALAR), module); // a pickled module says it all

        Path keras = testdata("keras/013_keras_stacked2_lstm_i16_h32_s27_b3"); // a .keras zip
        matches(RecurrentLayer.load(keras.resolve("model.keras"), SCALAR), keras);
        Path kerasH5 = testdata("keras/016_keras_gru_legacy_h5_i33_h5_s28_b4"); // legacy HDF5
        matches(RecurrentLayer.load(kerasH5.resolve("model.h5"), SCALAR), kerasH5);

        Path legacy = testdata("torch/006_pt-legacy_gru_legacy_i31_h8_s6_b4");
        matches(RecurrentLayer.load(legacy.resolve("model.pt"), LoadOptions.defaults().withBatchFirst(false), SCALAR),
                legacy);
    }

    @Test
    void aStateDictIsCompletedByOptionsAndAsksForWhatItLacks() throws Exception {
        Path c = testdata("torch/002_pt-state-dict_rnnrelu_l2_i31_h3_s6_b3");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RecurrentLayer.load(c.resolve("model.pt"), LoadOptions.defaults().withBatchFirst(false), SCALAR));
        assertTrue(e.getMessage().contains("nonlinearity"), e.getMessage());
        RecurrentLayer l = RecurrentLayer.load(c.resolve("model.pt"),
                LoadOptions.defaults().withNonlinearity("relu").withBatchFirst(false), SCALAR);
        assertEquals(CellType.RNN_RELU, l.config().type());
        matches(l, c);
    }

    @Test
    void optionsAFileSaysItselfAndUnknownContentAreRefused(@TempDir Path tmp) throws Exception {
        Path st = tmp.resolve("l.safetensors");
        RecurrentLayer.lstm(3, 4).seed(1).backend(SCALAR).build().save(st);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RecurrentLayer.load(st, LoadOptions.defaults().withBatchFirst(true), SCALAR));
        assertTrue(e.getMessage().startsWith("options: l.safetensors is a safetensors file"), e.getMessage());
        Path onnx = testdata("onnx/torch/008_onnx_lstm_bf_i9_h8_s6_b4/model.onnx");
        e = assertThrows(IllegalArgumentException.class,
                () -> RecurrentLayer.load(onnx, LoadOptions.defaults().withBatchFirst(true), SCALAR));
        assertTrue(e.getMessage().startsWith("options: an ONNX model says its configuration itself"), e.getMessage());
        Path junk = tmp.resolve("junk");
        Files.write(junk, "hello, not a model".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        ModelFormatException m = assertThrows(ModelFormatException.class, () -> RecurrentLayer.load(junk, SCALAR));
        assertTrue(m.getMessage().contains("no model format on the class path recognises it (formats: "), m.getMessage());
        assertTrue(m.getMessage().contains("onnx") && m.getMessage().contains("pytorch")
                && m.getMessage().contains("keras"), m.getMessage());
    }
}

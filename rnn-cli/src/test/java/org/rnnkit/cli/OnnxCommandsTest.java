package org.rnnkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.Npy;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/** {@code rnnkit convert}, {@code run} on ONNX files, and {@code verify} on ONNX case folders, in process. */
class OnnxCommandsTest {
    private static final Path HOME = Path.of(System.getProperty("rnnkit.home", ".."));
    private static final Path ONNX = HOME.resolve("testdata/onnx");

    private static Cli.Result run(String... args) {
        return Cli.run(args);
    }

    @Test
    void verifyRunsOnnxTestDataSetsAndImportCases() {
        Cli.Result r = run("verify", ONNX.resolve("dialects").toString(), ONNX.resolve("torch").toString(),
                "--backend", "scalar");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("22 passed, 0 failed, 0 errors, 0 not run"), r.out());
        assertTrue(r.out().contains("test_004_lstm_layout1_lens_reverse"), r.out());
    }

    @Test
    void aVariantLayerGoesToOnnxAndBackUnchanged(@TempDir Path tmp) throws Exception {
        RecurrentConfig cfg = RecurrentConfig.lstm(4, 5).withBidirectional(true).withVariant(CellVariant.NONE
                .withPeepholes(true).withClip(2f).withActivations(Activation.of(Activation.Function.HARD_SIGMOID),
                        Activation.TANH, Activation.of(Activation.Function.SOFTSIGN)));
        RecurrentLayer layer = RecurrentLayer.builder(cfg.type()).inputSize(4).hiddenSize(5).bidirectional(true)
                .variant(cfg.variant()).seed(3).backend(Backends.named("scalar")).build();
        Path st = tmp.resolve("a.safetensors"), onnx = tmp.resolve("a.model"), back = tmp.resolve("b.safetensors");
        layer.save(st);
        Cli.Result r = run("convert", st.toString(), onnx.toString(), "--to", "onnx");
        assertEquals(0, r.status(), r.out() + r.err());
        r = run("convert", onnx.toString(), back.toString()); // the input's format from its content
        assertEquals(0, r.status(), r.out() + r.err());
        RecurrentLayer again = RecurrentLayer.load(back, Backends.named("scalar"));
        assertEquals(cfg, again.config());
        layer.stateDict().forEach((k, v) -> assertTrue(v.bitEquals(again.stateDict().get(k)), k));
    }

    @Test
    void runReadsAnOnnxModelAndWritesPyTorchsLayout(@TempDir Path tmp) throws Exception {
        Path c = ONNX.resolve("torch/008_onnx_lstm_bf_i9_h8_s6_b4");
        Cli.Result r = run("run", "--model", c.resolve("model.onnx").toString(), "--input", c.resolve("input.npy").toString(),
                "--h0", c.resolve("h0.npy").toString(), "--c0", c.resolve("c0.npy").toString(),
                "--out", tmp.toString(), "--backend", "scalar");
        assertEquals(0, r.status(), r.out() + r.err());
        for (String f : new String[] {"output", "h_n", "c_n"}) {
            Tensor got = Npy.readFloat32(tmp.resolve(f + ".npy")), want = Npy.readFloat32(c.resolve(f + ".npy"));
            assertEquals(want.shapeString(), got.shapeString(), f);
            assertTrue(Tolerance.FORWARD.compare(f, got.data(), want.data()).passed(), f);
        }
    }

    @Test
    void whatOnnxCannotHoldIsRefusedByName(@TempDir Path tmp) throws Exception {
        RecurrentLayer proj = RecurrentLayer.lstm(3, 6).projSize(2).seed(1).backend(Backends.named("scalar")).build();
        Path st = tmp.resolve("p.safetensors");
        proj.save(st);
        Cli.Result r = run("convert", st.toString(), tmp.resolve("p.onnx").toString());
        assertEquals(Main.BAD_INPUT, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("proj_size: ONNX's LSTM has no projection"), r.err());
        assertTrue(Files.notExists(tmp.resolve("p.onnx")), "nothing written");
        // ONNX's node tests give the weights as graph inputs: not a model to convert on its own
        r = run("convert", ONNX.resolve("node/test_lstm_defaults/model.onnx").toString(),
                tmp.resolve("n.safetensors").toString());
        assertEquals(Main.BAD_INPUT, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("the weights are graph inputs"), r.err());
        r = run("convert", st.toString(), tmp.resolve("x.bin").toString());
        assertEquals(Main.BAD_INPUT, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("give --to safetensors|onnx"), r.err());
        // not a model at all
        Path junk = tmp.resolve("junk.onnx");
        Files.write(junk, new byte[] {1, 2, 3, 4, 5});
        r = run("run", "--model", junk.toString(), "--input", ONNX.resolve("torch/008_onnx_lstm_bf_i9_h8_s6_b4/input.npy")
                .toString(), "--out", tmp.resolve("o").toString());
        assertEquals(Main.BAD_INPUT, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("junk.onnx: not a safetensors file, and no model format on the class path recognises"
                + " it (formats: onnx, pytorch, keras)"), r.err());
    }

    @Test
    void pytorchFilesRunAndConvertWithTheirLoadOptions(@TempDir Path tmp) throws Exception {
        Path c = HOME.resolve("testdata/torch/002_pt-state-dict_rnnrelu_l2_i31_h3_s6_b3");
        Cli.Result r = run("run", "--model", c.resolve("model.pt").toString(), "--input", c.resolve("input.npy").toString(),
                "--out", tmp.resolve("o").toString(), "--backend", "scalar", "--batch-first", "false");
        assertEquals(Main.BAD_INPUT, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("nonlinearity"), r.err()); // a state_dict cannot say it: asked for by name
        r = run("run", "--model", c.resolve("model.pt").toString(), "--input", c.resolve("input.npy").toString(),
                "--h0", c.resolve("h0.npy").toString(), "--out", tmp.resolve("o").toString(), "--backend", "scalar",
                "--nonlinearity", "relu", "--batch-first", "false");
        assertEquals(0, r.status(), r.out() + r.err());
        for (String f : new String[] {"output", "h_n"}) {
            Tensor got = Npy.readFloat32(tmp.resolve("o").resolve(f + ".npy")), want = Npy.readFloat32(c.resolve(f + ".npy"));
            assertTrue(Tolerance.FORWARD.compare(f, got.data(), want.data()).passed(), f);
        }
        Path st = tmp.resolve("m.safetensors");
        r = run("convert", c.resolve("model.pt").toString(), st.toString(), "--nonlinearity", "relu",
                "--batch-first", "false");
        assertEquals(0, r.status(), r.out() + r.err());
        assertEquals(org.rnnkit.nn.CellType.RNN_RELU, RecurrentLayer.load(st, Backends.named("scalar")).config().type());
        Cli.Result v = run("verify", HOME.resolve("testdata/torch").toString(), "--backend", "scalar");
        assertEquals(0, v.status(), v.out() + v.err());
        assertTrue(v.out().contains("7 passed, 0 failed, 0 errors, 0 not run"), v.out());
    }
}

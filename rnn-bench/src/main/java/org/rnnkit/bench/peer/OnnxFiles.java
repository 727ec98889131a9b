package org.rnnkit.bench.peer;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.util.Map;
import org.rnnkit.backend.Backends;
import org.rnnkit.bench.Contender;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.onnx.OnnxModel;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;

/**
 * Contenders that run a scenario from the ONNX file PyTorch exported for it ({@code S2}, {@code S4},
 * {@code S8}: {@code scripts/export_scenario_onnx.py}, shipped as resources): rnnkit running the layer it
 * imports from the file, and ONNX Runtime running the same file. Set-up checks both against rnnkit's
 * scalar backend on the file's layer within the golden forward tolerance.
 *
 * <p>Thread safety: stateless; the contenders it makes are not thread-safe.
 */
public final class OnnxFiles {
    private OnnxFiles() {}

    /** The scenario's exported file. */
    static byte[] file(String scenario) throws IOException {
        try (InputStream in = OnnxFiles.class.getResourceAsStream("/org/rnnkit/bench/onnx/" + scenario + ".onnx")) {
            if (in == null) {
                throw new IllegalArgumentException("scenario " + scenario + ": no exported ONNX file (there are S2, S4"
                        + " and S8)");
            }
            return in.readAllBytes();
        }
    }

    /** The layer rnnkit imports from the scenario's file, on {@code backend} ({@code NAME} or {@code NAME:T}). */
    public static RecurrentLayer layer(String scenario, String backend) throws IOException {
        return OnnxModel.read(file(scenario), scenario + ".onnx").bind(Scenario.backend(backend)).layer();
    }

    /** rnnkit's forward pass of the imported layer, reusing its workspace and results as {@code Rnnkit} does. */
    public static Contender rnnkit(String scenario, String backend) throws IOException {
        RecurrentLayer layer = layer(scenario, backend);
        Tensor x = Scenario.valueOf(scenario).input();
        check(scenario, "rnnkit " + backend, layer.forward(x).output().data(), reference(layer, x));
        Workspace ws = new Workspace();
        LayerOutput into = layer.forward(x);
        ForwardOptions reused = ForwardOptions.defaults().withWorkspace(ws);
        return () -> layer.forward(x, reused, into);
    }

    /**
     * rnnkit's layer built from the same weights as the file, not through the importer: the natively built
     * layer that the imported one is compared with.
     */
    public static Contender built(String scenario, String backend) throws IOException {
        RecurrentLayer imported = layer(scenario, "scalar");
        RecurrentLayer layer = RecurrentLayer.of(imported.config(), imported.stateDict(), Scenario.backend(backend));
        Tensor x = Scenario.valueOf(scenario).input();
        check(scenario, "rnnkit-built " + backend, layer.forward(x).output().data(), reference(imported, x));
        Workspace ws = new Workspace();
        LayerOutput into = layer.forward(x);
        ForwardOptions reused = ForwardOptions.defaults().withWorkspace(ws);
        return () -> layer.forward(x, reused, into);
    }

    /** ONNX Runtime on the file, one thread per call unless told otherwise, as {@link Ort} runs its models. */
    public static Contender ort(String scenario, int threads) throws IOException, OrtException {
        Scenario s = Scenario.valueOf(scenario);
        Tensor x = s.input();
        float[] want = reference(layer(scenario, "scalar"), x);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(threads);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(file(scenario), opts);
        }
        OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), new long[] {s.seqLen, s.batch, s.input});
        Map<String, OnnxTensor> inputs = Map.of("input", in);
        try (OrtSession.Result r = session.run(inputs)) {
            FloatBuffer fb = ((OnnxTensor) r.get("output").orElseThrow()).getFloatBuffer();
            float[] got = new float[fb.remaining()];
            fb.get(got);
            check(scenario, "ONNX Runtime", got, want);
        } catch (RuntimeException | OrtException e) {
            in.close();
            session.close();
            throw e;
        }
        return new Contender() {
            @Override
            public Object call() throws OrtException {
                try (OrtSession.Result r = session.run(inputs)) {
                    return r.size();
                }
            }

            @Override
            public void close() throws OrtException {
                in.close();
                session.close();
            }
        };
    }

    private static float[] reference(RecurrentLayer layer, Tensor x) {
        return layer.withBackend(Backends.named("scalar")).forward(x).output().data();
    }

    private static void check(String scenario, String who, float[] got, float[] want) {
        Tolerance.Check c = Tolerance.FORWARD.compare("output", got, want);
        if (!c.passed()) {
            throw new IllegalStateException(who + " on " + scenario + ".onnx differs from rnnkit's scalar backend: " + c);
        }
    }
}

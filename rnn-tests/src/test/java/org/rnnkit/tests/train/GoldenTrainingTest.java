package org.rnnkit.tests.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.TestFactory;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.internal.json.Json;
import org.rnnkit.io.Npy;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.SafeTensorsFile;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;
import org.rnnkit.train.Adam;
import org.rnnkit.train.Clipping;
import org.rnnkit.train.Optimizer;
import org.rnnkit.train.SequenceModel;
import org.rnnkit.train.SequenceModel.Task;
import org.rnnkit.train.Sgd;
import org.rnnkit.tck.Tolerance;

/**
 * The training toolkit against PyTorch: a few optimizer steps of a recurrent layer with a Linear head and
 * cross-entropy, with clipping ({@code testdata/golden-training}, made by
 * {@code scripts/make_training_golden.py}). Checked: the first step's gradients, every step's loss and
 * gradient norm, and the weights after the last step.
 */
class GoldenTrainingTest {
    static final Path DIR = Path.of(System.getProperty("rnnkit.testdata", "../testdata"), "golden-training");

    /**
     * Loss and gradient norm per step: scalars of the same computation; their float32 rounding is far
     * below the gradient rule, which we use (2e-5 + 2e-4 relative).
     */
    static final Tolerance SCALARS = Tolerance.GRADIENT;

    /**
     * Final weights: each step adds lr * update; the update's rounding (and, for Adam, its division by
     * sqrt(v) + eps, which amplifies relative gradient differences where gradients are tiny) accumulates
     * over the steps. The bound is derived in testdata/golden-training/README.md from PyTorch's own
     * float32 vs float64 difference of the same runs (its {@code float64_check}).
     */
    static final Tolerance WEIGHTS = Tolerance.GRADIENT;

    @TestFactory
    Stream<DynamicTest> everyCaseOnEveryBackend() throws IOException {
        assertTrue(Files.isDirectory(DIR), DIR + " is missing: the training golden cases ship with the project");
        List<Path> cases;
        try (Stream<Path> s = Files.list(DIR)) {
            cases = s.filter(p -> Files.isRegularFile(p.resolve("case.json"))).sorted().toList();
        }
        assertTrue(!cases.isEmpty(), DIR + " holds no case");
        List<DynamicTest> tests = new ArrayList<>();
        for (Named<Backend> b : BackendSource.usable().toList()) {
            for (Path c : cases) {
                tests.add(DynamicTest.dynamicTest(c.getFileName() + " on " + b.getName(), () -> run(c, b.getPayload())));
            }
        }
        return tests.stream();
    }

    private static void run(Path dir, Backend backend) throws IOException {
        Map<String, Object> c = Json.parseObject(Files.readString(dir.resolve("case.json"), StandardCharsets.UTF_8));
        Map<String, String> meta = new LinkedHashMap<>();
        Json.asObject(c.get("model"), "model").forEach((k, v) -> meta.put(k, String.valueOf(v)));
        RecurrentConfig cfg = RecurrentConfig.fromMetadata(meta);
        int classes = Json.asInt(Json.asObject(c.get("model"), "model").get("classes"), "classes");
        SafeTensorsFile initial = SafeTensors.read(dir.resolve("initial.safetensors"));
        SequenceModel model = SequenceModel.of(cfg, classes, initial.tensors(), backend);
        Optimizer opt = optimizer(Json.asObject(c.get("optimizer"), "optimizer"));
        Clipping clip = clipping(Json.asObject(c.get("clip"), "clip"));

        Tensor inputs = Npy.readFloat32(dir.resolve("inputs.npy"));
        Npy.Int64 targets = Npy.readInt64(dir.resolve("targets.npy"));
        float[] losses = Npy.readFloat32(dir.resolve("losses.npy")).data();
        float[] norms = Npy.readFloat32(dir.resolve("grad_norms.npy")).data();
        int steps = inputs.dim(0), seqLen = inputs.dim(1), batch = inputs.dim(2), in = inputs.dim(3);
        int per = seqLen * batch * in;
        String where = dir.getFileName() + " on " + backend.name();

        Map<String, Tensor> grads0 = SafeTensors.read(dir.resolve("grads_step0.safetensors")).tensors();
        for (int s = 0; s < steps; s++) {
            Tensor x = Tensor.wrap(Arrays.copyOfRange(inputs.data(), s * per, (s + 1) * per), seqLen, batch, in);
            int[] y = new int[seqLen * batch];
            for (int i = 0; i < y.length; i++) {
                y[i] = Math.toIntExact(targets.values()[s * y.length + i]);
            }
            if (s == 0) {
                SequenceModel.Step first = model.lossAndGradients(Task.PER_STEP, x, y, ForwardOptions.defaults());
                for (var e : grads0.entrySet()) {
                    check(where + " step 0 gradient", e.getKey(), first.gradients().get(e.getKey()), e.getValue(),
                            Tolerance.GRADIENT);
                }
            }
            SequenceModel.Step st = model.trainStep(Task.PER_STEP, x, y, opt, clip);
            check(where + " step " + s, "loss", new float[] {(float) st.loss()}, new float[] {losses[s]}, SCALARS);
            check(where + " step " + s, "grad norm", new float[] {(float) st.gradNorm()}, new float[] {norms[s]},
                    SCALARS);
        }
        double worst = 0;
        for (var e : SafeTensors.read(dir.resolve("final.safetensors")).tensors().entrySet()) {
            worst = Math.max(worst, check(where + " after " + steps + " steps", e.getKey(),
                    model.parameters().get(e.getKey()), e.getValue(), WEIGHTS));
        }
        System.out.printf("[golden-training] %s: final weights use %.4f of the tolerance%n", where, worst);
    }

    private static double check(String where, String name, Tensor got, Tensor want, Tolerance tol) {
        if (got == null) {
            fail(where + ": no " + name);
        }
        assertEquals(Arrays.toString(want.shape()), Arrays.toString(got.shape()), where + ": " + name + " shape");
        return check(where, name, got.data(), want.data(), tol);
    }

    private static double check(String where, String name, float[] got, float[] want, Tolerance tol) {
        Tolerance.Check r = tol.compare(name, got, want);
        assertTrue(r.passed(), where + ": " + r);
        return r.fraction();
    }

    static Optimizer optimizer(Map<String, Object> o) {
        String type = Json.asString(o.get("type"), "optimizer.type");
        double lr = Json.asDouble(o.get("lr"), "lr"), wd = num(o, "weight_decay", 0);
        switch (type) {
            case "SGD":
                return new Sgd(lr, num(o, "momentum", 0), num(o, "dampening", 0), wd,
                        o.get("nesterov") != null && Json.asBoolean(o.get("nesterov"), "nesterov"));
            case "Adam":
            case "AdamW":
                List<Object> betas = Json.asList(o.get("betas"), "betas");
                return new Adam(lr, Json.asDouble(betas.get(0), "beta1"), Json.asDouble(betas.get(1), "beta2"),
                        num(o, "eps", 1e-8), wd, type.equals("AdamW"),
                        o.get("amsgrad") != null && Json.asBoolean(o.get("amsgrad"), "amsgrad"));
            default:
                throw new IllegalArgumentException("optimizer.type: unknown '" + type + "'");
        }
    }

    static Clipping clipping(Map<String, Object> c) {
        String type = Json.asString(c.get("type"), "clip.type");
        return switch (type) {
            case "norm" -> Clipping.byNorm(Json.asDouble(c.get("max_norm"), "max_norm"));
            case "value" -> Clipping.byValue(Json.asDouble(c.get("clip_value"), "clip_value"));
            case "none" -> Clipping.none();
            default -> throw new IllegalArgumentException("clip.type: unknown '" + type + "'");
        };
    }

    private static double num(Map<String, Object> o, String key, double dflt) {
        return o.get(key) == null ? dflt : Json.asDouble(o.get(key), key);
    }
}

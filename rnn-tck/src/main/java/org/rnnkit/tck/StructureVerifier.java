package org.rnnkit.tck;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.rnnkit.backend.Backend;
import org.rnnkit.internal.json.Json;
import org.rnnkit.io.Npy;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.nn.CellType;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.train.OneToMany;
import org.rnnkit.train.Seq2Seq;
import org.rnnkit.train.SequenceModel;

/**
 * Runs a structure case ({@code case.json} kind {@code structure}: a seq2seq or one-to-many model made by
 * PyTorch, layout in {@code testdata/structures/README.md}) on a backend: logits and loss against the
 * forward tolerance, every parameter's gradient against the gradient tolerance, greedy tokens exactly.
 *
 * <p>Thread safety: stateless.
 */
public final class StructureVerifier {
    private StructureVerifier() {}

    /** Whether {@code dir} holds a structure case. */
    public static boolean isStructureCase(Path dir) {
        Path json = dir.resolve("case.json");
        if (!Files.isRegularFile(json)) {
            return false;
        }
        try {
            Map<String, Object> c = Json.parseObject(Files.readString(json, StandardCharsets.UTF_8));
            return "structure".equals(c.get("kind"));
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
    }

    /** The case in {@code dir} on {@code backend}; an exception of the case or backend is an ERROR result. */
    public static CaseResult verify(Path dir, Backend backend) {
        String name = dir.getFileName().toString();
        try {
            return run(dir, name, backend);
        } catch (IOException | RuntimeException e) {
            return new CaseResult(name, backend.name(), CaseResult.Status.ERROR, null, null, null, e.toString());
        }
    }

    private static CaseResult run(Path dir, String name, Backend backend) throws IOException {
        Map<String, Object> c = Json.parseObject(Files.readString(dir.resolve("case.json"), StandardCharsets.UTF_8));
        String structure = Json.asString(c.get("structure"), "structure");
        CellType type = CellType.valueOf(Json.asString(c.get("mode"), "mode"));
        int layers = Json.asInt(c.get("num_layers"), "num_layers"), in = Json.asInt(c.get("input_size"), "input_size"),
                hidden = Json.asInt(c.get("hidden_size"), "hidden_size"), vocab = Json.asInt(c.get("vocab"), "vocab");
        Map<String, Tensor> params = SafeTensors.read(dir.resolve("model.safetensors")).tensors();
        Npy.Int64 t = Npy.readInt64(dir.resolve("targets.npy"));
        int steps = t.shape()[0], batch = t.shape()[1];
        int[] targets = toInts(t.values());
        int[] greedyExpected = toInts(Npy.readInt64(dir.resolve("greedy.npy")).values()); // (Tt, B)
        SequenceModel.Step step;
        int[][] greedy;
        if (structure.startsWith("seq2seq")) {
            Seq2Seq m = Seq2Seq.of(Seq2Seq.Form.of(structure), type, in, hidden, layers, vocab, params, backend);
            Tensor source = Npy.readFloat32(dir.resolve("source.npy"));
            step = m.lossAndGradients(source, null, targets, null);
            greedy = m.greedy(source, null, steps, -1);
        } else {
            OneToMany m = OneToMany.of(OneToMany.Form.of(structure), type, in, hidden, layers, vocab, params, backend);
            Tensor x = Npy.readFloat32(dir.resolve("x.npy"));
            step = m.lossAndGradients(x, targets, null);
            greedy = m.greedy(x, steps);
        }
        List<Tolerance.Check> fwd = new ArrayList<>(), grad = new ArrayList<>();
        fwd.add(Tolerance.FORWARD.compare("logits", step.logits().data(),
                Npy.readFloat32(dir.resolve("logits.npy")).data()));
        fwd.add(Tolerance.FORWARD.compare("loss", new float[] {(float) step.loss()},
                Npy.readFloat32(dir.resolve("loss.npy")).data()));
        int[] got = new int[steps * batch];
        for (int b = 0; b < batch; b++) {
            for (int s = 0; s < steps; s++) {
                got[s * batch + b] = greedy[b][s];
            }
        }
        int mismatch = -1;
        for (int i = 0; i < got.length && mismatch < 0; i++) {
            if (got[i] != greedyExpected[i]) {
                mismatch = i;
            }
        }
        fwd.add(new Tolerance.Check("greedy tokens " + Arrays.toString(got), mismatch < 0 ? 0 : Double.POSITIVE_INFINITY,
                Math.max(mismatch, 0), mismatch < 0 ? got[0] : got[mismatch],
                mismatch < 0 ? greedyExpected[0] : greedyExpected[mismatch]));
        for (Map.Entry<String, Tensor> e : step.gradients().entrySet()) {
            Path g = dir.resolve("grad_" + e.getKey() + ".npy");
            if (!Files.isRegularFile(g)) {
                throw new IOException(g + " is missing: every parameter's gradient ships with a structure case");
            }
            grad.add(Tolerance.GRADIENT.compare("grad_" + e.getKey(), e.getValue().data(), Npy.readFloat32(g).data()));
        }
        return CaseResult.of(name, backend.name(), fwd, grad, null);
    }

    private static int[] toInts(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.toIntExact(v[i]);
        }
        return out;
    }
}

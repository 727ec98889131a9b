package org.rnnkit.tests.golden;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.TestFactory;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.internal.json.Json;
import org.rnnkit.io.Npy;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;
import org.rnnkit.tests.TestData;

/**
 * Every PyTorch golden case (random weights {@code golden}, trained weights {@code golden-trained},
 * variable lengths {@code golden-varlen}), forward and gradients, on every backend: one dynamic test per
 * case and backend. The model is loaded with {@link RecurrentLayer#load(Path, Backend)} /
 * {@link RecurrentCell#load(Path, Backend)}, the tensors with {@link Npy}.
 *
 * <p>The comparison is written here, independently of {@code org.rnnkit.tck} (which the CLI uses), with
 * the rule and constants of {@code testdata/golden/README.md}, section "Tolerances": per tensor file and
 * element {@code |got - expected| <= atol * max(1, max|expected|) + rtol * |expected|}, with
 * {@code output}/{@code h_n}/{@code c_n} atol 1e-5, rtol 1e-4 and {@code grad_*} atol 2e-5, rtol 2e-4. The
 * README measured what they bound: two correct float32 evaluations of the same function (PyTorch's own
 * float32 results use 0.13 / 0.03 of them against float64), while a 1e-3 activation error, a swapped LSTM
 * gate or the GRU's {@code b_hn} outside {@code r * (...)} exceed them 500 to 100 000 times. The variable-length
 * cases use the same rule (README, "Variable-length batches"); {@code RecurrentLayer.forward} takes
 * per-row lengths, so they run (a reader without lengths would have to skip them).
 */
class GoldenTest {
    static final Path DATA = Path.of(System.getProperty("rnnkit.testdata", "../testdata"));
    static final List<String> SETS = List.of("golden", "golden-trained", "golden-varlen");
    static final double FWD_ATOL = 1e-5, FWD_RTOL = 1e-4, GRAD_ATOL = 2e-5, GRAD_RTOL = 2e-4;

    /** Worst fraction of the tolerance per "set / backend / forward|gradients", with where it was. */
    private static final Map<String, Object[]> WORST = new TreeMap<>();

    @TestFactory
    Stream<DynamicTest> everyCaseOnEveryBackend() throws IOException {
        List<Path> cases = new ArrayList<>();
        for (String set : SETS) {
            Path dir = DATA.resolve(set);
            assertTrue(Files.isDirectory(dir), dir.toAbsolutePath() + " is missing: the golden sets ship with the project"
                    + " (surefire passes their folder as -Drnnkit.testdata)");
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> Files.isRegularFile(p.resolve("case.json"))).sorted().forEach(cases::add);
            }
        }
        assertTrue(cases.size() >= 87, "expected the 87 bundled cases, found " + cases.size());
        List<DynamicTest> tests = new ArrayList<>();
        for (Named<Backend> b : BackendSource.all().toList()) {
            for (Path c : cases) {
                tests.add(DynamicTest.dynamicTest(c.getParent().getFileName() + "/" + c.getFileName() + " on "
                        + b.getName(), () -> run(c, BackendSource.require(b.getPayload()))));
            }
        }
        return tests.stream();
    }

    @AfterAll
    static synchronized void report() {
        WORST.forEach((k, w) -> System.out.printf("[golden] %-42s %3d cases, worst %.4f of the tolerance (%s)%n", k,
                (Integer) w[0], (Double) w[1], w[2]));
    }

    private static Tensor opt(Path dir, String f) throws IOException {
        return Files.exists(dir.resolve(f)) ? Npy.readFloat32(dir.resolve(f)) : null;
    }

    private static void run(Path dir, Backend backend) throws IOException {
        String set = dir.getParent().getFileName().toString();
        Where where = new Where(set + "/" + dir.getFileName(), backend.name());
        Tensor x = Npy.readFloat32(dir.resolve("input.npy")), h0 = opt(dir, "h0.npy"), c0 = opt(dir, "c0.npy");
        String kind = Json.asString(Json.parseObject(Files.readString(dir.resolve("case.json"))).get("kind"), "kind");
        Path model = dir.resolve("model.safetensors");
        double fwd;
        Gradients g;
        if (kind.equals("cell")) {
            RecurrentCell cell = RecurrentCell.load(model, backend);
            CellOutput o = cell.forward(x, h0, c0, new Workspace());
            fwd = Math.max(expect(where, dir, "h_n.npy", o.h(), FWD_ATOL, FWD_RTOL),
                    expect(where, dir, "c_n.npy", o.c(), FWD_ATOL, FWD_RTOL));
            var t = cell.forwardTraining(x, h0, c0);
            g = cell.backward(t, opt(dir, "ghn.npy"), opt(dir, "gcn.npy"));
        } else {
            RecurrentLayer layer = RecurrentLayer.load(model, backend);
            int[] lengths = null;
            if (Files.exists(dir.resolve("lengths.npy"))) {
                long[] l = Npy.readInt64Vector(dir.resolve("lengths.npy"));
                lengths = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    lengths[i] = Math.toIntExact(l[i]);
                }
            }
            LayerOutput o = layer.forward(x, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0));
            fwd = Math.max(expect(where, dir, "output.npy", o.output(), FWD_ATOL, FWD_RTOL),
                    Math.max(expect(where, dir, "h_n.npy", o.hN(), FWD_ATOL, FWD_RTOL),
                            expect(where, dir, "c_n.npy", o.cN(), FWD_ATOL, FWD_RTOL)));
            var t = layer.forwardTraining(x, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0));
            g = layer.backward(t, opt(dir, "gout.npy"), opt(dir, "ghn.npy"), opt(dir, "gcn.npy"));
        }
        note(set + " / " + backend.name() + " / forward", fwd, where.name);
        double grad = 0;
        int checked = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (!name.startsWith("grad_")) {
                    continue;
                }
                String what = name.substring(5, name.length() - 4);
                Tensor got = switch (what) {
                    case "input" -> g.input();
                    case "h0" -> g.h0();
                    case "c0" -> g.c0();
                    default -> g.parameters().get(what);
                };
                grad = Math.max(grad, expect(where, dir, name, got, GRAD_ATOL, GRAD_RTOL));
                checked++;
            }
        }
        assertTrue(checked > 0, where + ": no gradient files checked");
        note(set + " / " + backend.name() + " / gradients", grad, where.name);
    }

    private record Where(String name, String backend) {
        @Override
        public String toString() {
            return "case " + name + " on backend " + backend;
        }
    }

    private static synchronized void note(String key, double fraction, String name) {
        Object[] w = WORST.computeIfAbsent(key, k -> new Object[] {0, 0.0, "-"});
        w[0] = (Integer) w[0] + 1;
        if (fraction > (Double) w[1]) {
            w[1] = fraction;
            w[2] = name;
        }
    }

    /**
     * Compares {@code got} with the case's {@code file} by the README's rule; returns the largest fraction
     * of the tolerance used, or fails with the worst element.
     */
    private static double expect(Where where, Path dir, String file, Tensor got, double atol, double rtol)
            throws IOException {
        Path f = dir.resolve(file);
        if (!Files.exists(f)) {
            assertTrue(got == null, where + ": produced " + file + " that the case does not have");
            return 0;
        }
        assertTrue(got != null, where + ": " + file + " expected but not produced");
        Tensor want = Npy.readFloat32(f);
        if (!Arrays.equals(want.shape(), got.shape())) {
            throw new AssertionError(where + ", file " + file + ": shape " + got.shapeString() + ", expected "
                    + want.shapeString());
        }
        float[] w = want.data(), g = got.data();
        double max = 0;
        for (float v : w) {
            max = Math.max(max, Math.abs(v));
        }
        double worst = 0;
        int at = -1;
        for (int i = 0; i < w.length; i++) {
            double fraction = Math.abs((double) g[i] - w[i]) / (atol * Math.max(1, max) + rtol * Math.abs(w[i]));
            if (Double.isNaN(fraction)) {
                fraction = Double.POSITIVE_INFINITY;
            }
            if (fraction > worst) {
                worst = fraction;
                at = i;
            }
        }
        if (worst > 1) {
            throw new AssertionError(where + ", file " + file + ": worst element " + index(at, want.shape())
                    + " (flat " + at + "): got " + g[at] + ", expected " + w[at] + " (" + TestData.ulps(g[at], w[at])
                    + " ulp), " + String.format("%.3g", worst) + " of the tolerance atol=" + atol + "*max(1, "
                    + max + ") + rtol=" + rtol + "*|expected| (testdata/golden/README.md)");
        }
        return worst;
    }

    private static String index(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int a = shape.length - 1; a >= 0; a--) {
            idx[a] = flat % shape[a];
            flat /= shape[a];
        }
        return Arrays.toString(idx);
    }
}

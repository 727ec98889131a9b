package org.rnnkit.tests.golden;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.TestFactory;
import org.rnnkit.io.Json;
import org.rnnkit.io.Npy;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Trace;
import org.rnnkit.nn.Workspace;
import org.rnnkit.spi.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;

/**
 * Every PyTorch golden case (random weights, trained weights, variable lengths), forward and gradients,
 * on every backend. The comparison is written here, independently of {@code org.rnnkit.verify} (which the
 * CLI uses), with the rule and constants of {@code testdata/golden/README.md}:
 * {@code |got - expected| <= atol * max(1, max|expected|) + rtol * |expected|}, forward atol 1e-5 rtol 1e-4,
 * gradients atol 2e-5 rtol 2e-4. They bound two correct float32 evaluations of the same function (PyTorch's
 * own float32 uses 0.13 / 0.03 of them against float64); a 1e-3 activation error or a wrong gate misses by
 * 500 to 100 000 times.
 */
class GoldenTest {
    static final Path DATA = Path.of(System.getProperty("rnnkit.testdata", "../testdata"));
    static final List<String> SETS = List.of("golden", "golden-trained", "golden-varlen");

    @TestFactory
    Stream<DynamicTest> everyCaseOnEveryBackend() throws IOException {
        List<Path> cases = new ArrayList<>();
        for (String set : SETS) {
            Path dir = DATA.resolve(set);
            assertTrue(Files.isDirectory(dir), dir + " is missing: the golden sets ship with the project");
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> Files.isRegularFile(p.resolve("case.json"))).sorted().forEach(cases::add);
            }
        }
        assertTrue(cases.size() >= 87, "expected the 87 bundled cases, found " + cases.size());
        List<DynamicTest> tests = new ArrayList<>();
        for (Named<Backend> b : BackendSource.usable().toList()) {
            for (Path c : cases) {
                tests.add(DynamicTest.dynamicTest(c.getParent().getFileName() + "/" + c.getFileName() + " on "
                        + b.getName(), () -> run(c, b.getPayload())));
            }
        }
        return tests.stream();
    }

    private static Tensor opt(Path dir, String f) throws IOException {
        return Files.exists(dir.resolve(f)) ? Npy.readFloat32(dir.resolve(f)) : null;
    }

    private static void run(Path dir, Backend backend) throws IOException {
        String where = dir.getFileName() + " on " + backend.name();
        Tensor x = Npy.readFloat32(dir.resolve("input.npy")), h0 = opt(dir, "h0.npy"), c0 = opt(dir, "c0.npy");
        Gradients g;
        String kind = Json.asString(Json.parseObject(Files.readString(dir.resolve("case.json"))).get("kind"), "kind");
        if (kind.equals("cell")) {
            RecurrentCell cell = RecurrentCell.load(dir.resolve("model.safetensors"), backend);
            CellOutput o = cell.forward(x, h0, c0, new Workspace());
            expect(where, dir, "h_n.npy", o.h(), 1e-5, 1e-4);
            expect(where, dir, "c_n.npy", o.c(), 1e-5, 1e-4);
            Trace t = cell.forwardTraining(x, h0, c0);
            g = cell.backward(t, opt(dir, "ghn.npy"), opt(dir, "gcn.npy"));
        } else {
            RecurrentLayer layer = RecurrentLayer.load(dir.resolve("model.safetensors"), backend);
            int[] lengths = null;
            if (Files.exists(dir.resolve("lengths.npy"))) {
                long[] l = Npy.readInt64Vector(dir.resolve("lengths.npy"));
                lengths = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    lengths[i] = Math.toIntExact(l[i]);
                }
            }
            LayerOutput o = layer.forward(x, lengths, h0, c0, new Workspace());
            expect(where, dir, "output.npy", o.output(), 1e-5, 1e-4);
            expect(where, dir, "h_n.npy", o.hN(), 1e-5, 1e-4);
            expect(where, dir, "c_n.npy", o.cN(), 1e-5, 1e-4);
            Trace t = layer.forwardTraining(x, lengths, h0, c0);
            g = layer.backward(t, opt(dir, "gout.npy"), opt(dir, "ghn.npy"), opt(dir, "gcn.npy"));
        }
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
                expect(where, dir, name, got, 2e-5, 2e-4);
                checked++;
            }
        }
        assertTrue(checked > 0, where + ": no gradient files checked");
    }

    private static void expect(String where, Path dir, String file, Tensor got, double atol, double rtol)
            throws IOException {
        Path f = dir.resolve(file);
        if (!Files.exists(f)) {
            assertTrue(got == null, where + ": produced " + file + " that the case does not have");
            return;
        }
        assertTrue(got != null, where + ": " + file + " expected but not produced");
        Tensor want = Npy.readFloat32(f);
        assertArrayEquals(want.shape(), got.shape(), where + ": " + file + " shape");
        float[] w = want.data(), g = got.data();
        double max = 0;
        for (float v : w) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < w.length; i++) {
            double allowed = atol * Math.max(1, max) + rtol * Math.abs(w[i]);
            double diff = Math.abs(g[i] - w[i]);
            if (!(diff <= allowed)) {
                throw new AssertionError(where + ": " + file + "[" + i + "]: got " + g[i] + ", expected " + w[i]
                        + " (" + String.format("%.3g", diff / allowed) + " of the tolerance)");
            }
        }
    }
}

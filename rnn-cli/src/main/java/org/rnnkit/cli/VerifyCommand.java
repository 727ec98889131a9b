package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.Untrusted;
import org.rnnkit.backend.Backend;
import org.rnnkit.tck.CaseResult;
import org.rnnkit.tck.CaseResult.Status;
import org.rnnkit.tck.GoldenCase;
import org.rnnkit.tck.GoldenVerifier;
import org.rnnkit.tck.Tolerance;

/** {@code rnnkit verify}: golden cases on backends, one table row per case and backend. */
final class VerifyCommand implements Main.Command {
    /** The bundled case sets, relative to the project root. */
    static final List<String> BUNDLED = List.of("testdata/golden", "testdata/golden-trained", "testdata/golden-varlen",
            "testdata/structures", "testdata/onnx/node", "testdata/onnx/dialects", "testdata/onnx/torch", "testdata/torch", "testdata/keras");

    @Override
    public String usage() {
        return """
                usage: rnnkit verify [DIR ...] [--backend NAME|all] [--failures-only]

                Runs every case in each DIR (a directory of cases, or one case directory) on the chosen
                backends and compares the results with the reference's: golden cases (testdata/golden/README.md;
                structure cases, seq2seq and one-to-many models with logits, loss, gradients and greedy tokens:
                testdata/structures/README.md), ONNX's backend-test layout (model.onnx and
                test_data_set_N/{input,output}_K.pb, run in ONNX's terms: testdata/onnx/README.md), and
                import cases (case.json kind "import": a framework's own model file and .npy results; those of
                model_format onnx, pt-state-dict, pt-module, pt-legacy, keras and keras-h5 run, others are listed
                as not run).
                Greedy tokens must match exactly; tensors by |got - expected| <= atol*max(1, max|expected|) + rtol*|expected|, with
                atol 1e-5 and rtol 1e-4 for output, h_n, c_n, and 2e-5 and 2e-4 for the gradients (grad_*).
                The table shows, per case and backend, the largest fraction of that tolerance any element
                used (1.0 = at the limit), forward and gradients.
                Without DIR it runs the cases bundled with rnnkit (%s).

                  --backend NAME   a backend name, a comma list, 'auto', or 'all' (every discovered backend;
                                   unusable ones are listed as not run). Default: the rnnkit.backend
                                   property, else auto.
                  --failures-only  print only rows that did not pass

                Exit status: 0 when nothing failed, 1 when a case failed or errored, 2 on a usage error.
                """.formatted(String.join(", ", BUNDLED));
    }

    /** A case name from a case.json, safe to print: escapes (terminal control sequences) made visible, length bounded. */
    private static String show(String name) {
        return Untrusted.line(name, 120);
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = Args.parse(argv, 0, Set.of("--backend"), Set.of("--failures-only"));
        if (a.help) {
            out.print(usage());
            return 0;
        }
        List<Path> dirs = new ArrayList<>();
        if (a.positional.isEmpty()) {
            Path home = Path.of(System.getProperty("rnnkit.home", "."));
            for (String b : BUNDLED) {
                dirs.add(home.resolve(b));
            }
        } else {
            a.positional.forEach(p -> dirs.add(Path.of(p)));
        }
        List<Entry> cases = new ArrayList<>();
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) {
                throw new Args.BadValueException("no such directory: " + Untrusted.quote(d.toString()));
            }
            List<Entry> found = discover(d);
            if (found.isEmpty()) {
                throw new Args.BadValueException(Untrusted.quote(d.toString()) + " holds no case (no subdirectory with"
                        + " a case.json, or a model.onnx with test_data_set_0)");
            }
            cases.addAll(found);
        }

        // Backends: name -> instance, or null with the reason it is not usable.
        List<String> names = new ArrayList<>();
        Map<String, Backend> usable = new java.util.LinkedHashMap<>();
        Map<String, String> unusable = new java.util.LinkedHashMap<>();
        String spec = a.get("--backend");
        if (spec != null && spec.trim().equalsIgnoreCase("all")) {
            for (var d : Backends.discovered()) {
                names.add(d.name());
                if (d.usable()) {
                    usable.put(d.name(), Backends.named(d.name()));
                } else {
                    unusable.put(d.name(), d.detail());
                }
            }
        } else {
            Backend b = spec == null ? Backends.get() : Backends.select(spec, "--backend");
            names.add(b.name());
            usable.put(b.name(), b);
        }

        int wCase = Math.max(4, cases.stream().mapToInt(c -> show(c.name()).length()).max().orElse(4));
        int wBack = Math.max(7, names.stream().mapToInt(String::length).max().orElse(7));
        String fmt = "%-" + wCase + "s  %-" + wBack + "s  %8s  %-9s  %s%n";
        out.printf(fmt, "case", "backend", "forward", "gradients", "status");
        Map<Status, Integer> counts = new EnumMap<>(Status.class);
        boolean gradientsPending = false;
        java.util.Set<String> gradientNotes = new java.util.TreeSet<>();
        List<CaseResult> problems = new ArrayList<>();
        for (Entry c : cases) {
            for (String name : names) {
                CaseResult r = usable.containsKey(name) ? c.verify(usable.get(name))
                        : new CaseResult(c.name(), name, Status.NOT_RUN, null, null, null,
                                "backend not usable: " + unusable.get(name));
                counts.merge(r.status(), 1, Integer::sum);
                if (r.gradientNote() != null) {
                    gradientsPending = true;
                    gradientNotes.add(r.gradientNote());
                }
                if (r.status() != Status.PASS) {
                    problems.add(r);
                }
                if (!a.flag("--failures-only") || r.status() != Status.PASS) {
                    out.printf(fmt, show(c.name()), name, fraction(r.forward()),
                            r.gradient() != null ? fraction(r.gradient()) : r.gradientNote() != null ? "n/c" : "-",
                            statusText(r));
                }
            }
        }
        out.println();
        for (CaseResult r : problems) {
            out.println(show(r.caseName()) + " on " + r.backend() + ": " + r.status() + ": " + Untrusted.line(r.detail(), 2000));
        }
        if (gradientsPending) {
            out.println("gradients: n/c = not checked (" + String.join("; ", gradientNotes) + ")");
        }
        out.println("tolerance: |got - expected| <= atol * max(1, max|expected|) + rtol * |expected|, forward atol "
                + Tolerance.FORWARD.atol() + " rtol " + Tolerance.FORWARD.rtol() + ", gradients atol "
                + Tolerance.GRADIENT.atol() + " rtol " + Tolerance.GRADIENT.rtol() + "; columns = worst fraction used");
        out.printf(Locale.ROOT, "%d passed, %d failed, %d errors, %d not run%n", counts.getOrDefault(Status.PASS, 0),
                counts.getOrDefault(Status.FAIL, 0), counts.getOrDefault(Status.ERROR, 0),
                counts.getOrDefault(Status.NOT_RUN, 0));
        return counts.getOrDefault(Status.FAIL, 0) + counts.getOrDefault(Status.ERROR, 0) > 0 ? 1 : 0;
    }

    /** A golden case or an ONNX case. */
    private record Entry(String name, GoldenCase golden, OnnxCases.OnnxCase onnx) {
        CaseResult verify(Backend backend) {
            return golden != null ? GoldenVerifier.verify(golden, backend) : OnnxCases.verify(onnx, backend);
        }
    }

    /** The cases under {@code d}: {@code d} itself when it is one, else its subdirectories that are, by name. */
    private static List<Entry> discover(Path d) throws IOException {
        if (OnnxCases.isCase(d)) {
            OnnxCases.OnnxCase c = OnnxCases.load(d);
            return List.of(new Entry(c.name(), null, c));
        }
        if (Files.isRegularFile(d.resolve("case.json"))) {
            GoldenCase g = GoldenCase.load(d);
            return List.of(new Entry(g.name(), g, null));
        }
        List<Entry> out = new ArrayList<>();
        List<Path> children;
        try (java.util.stream.Stream<Path> s = Files.list(d)) {
            children = s.filter(Files::isDirectory).sorted().toList();
        }
        for (Path p : children) {
            if (OnnxCases.isCase(p)) {
                OnnxCases.OnnxCase c = OnnxCases.load(p);
                out.add(new Entry(c.name(), null, c));
            } else if (Files.isRegularFile(p.resolve("case.json"))) {
                GoldenCase g = GoldenCase.load(p);
                out.add(new Entry(g.name(), g, null));
            }
        }
        return out;
    }

    private static String fraction(Tolerance.Check c) {
        return c == null ? "-" : String.format(Locale.ROOT, "%.4f", c.fraction());
    }

    private static String statusText(CaseResult r) {
        return switch (r.status()) {
            case PASS -> "PASS";
            case FAIL -> "FAIL";
            case ERROR -> "ERROR";
            case NOT_RUN -> "NOT RUN";
        };
    }
}

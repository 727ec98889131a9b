package org.rnnkit.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.rnnkit.bench.report.Report;

/**
 * {@code rnnkit bench}: runs the scenario benchmarks of the chosen rnnkit backends and of the peers in
 * one JMH run, then prints the report and writes {@code results.json}, {@code summary.json} and
 * {@code ratios.svg}.
 */
public final class BenchMain {
    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        boolean quick = false, paired = true, accuracy = false;
        Path reportOnly = null;
        String scenarios = "S0,S1,S2,S3,S4,S5,S6,S7,S8", peers = "ort,libtorch";
        // default: every backend usable here at its intended speed (the launcher runs this JVM with the Vector
        // API module; a degraded one is measured only when named), at one thread and, for those that split
        // calls, at two
        String backends = String.join(",", defaultBackends());
        Path out = Path.of("rnn-bench/target/bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--no-paired" -> paired = false;
                case "--accuracy" -> accuracy = true;
                case "--scenarios" -> scenarios = args[++i];
                case "--backends" -> backends = args[++i];
                case "--peers" -> peers = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--report-only" -> reportOnly = Path.of(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("""
                            usage: rnnkit bench [--quick] [--scenarios S0,S2,...] [--backends NAME[:THREADS],... (default: all usable and
                                                not degraded, at 1 and 2 threads where they split calls)]
                                                [--peers ort,libtorch|none] [--no-paired] [--out DIR] [--report-only JMH.json]
                                   rnnkit bench --accuracy [--scenarios ...] [--backends ...] [--peers ...]

                            Runs the scenarios S0-S8 (forward) and S2/S3 training on the chosen rnnkit backends
                            and on ONNX Runtime and LibTorch (1 and 2 threads) in one JMH run, checks in set-up that
                            every peer and backend computes rnnkit's function within the golden tolerance, and
                            prints a table per scenario: ms per call, GFLOP/s, and the ratio to each peer and to
                            the best peer. Then, unless --no-paired, the same scenarios once more at one thread
                            with the calls of the rnnkit backends (scalar aside) and the peers alternating in one
                            process (PairedBenchmark), whose ratios do not depend on the machine's slow phases. --quick: 1 fork, 1 x 1 s warm-up, 3 x 1 s measurement (minutes);
                            otherwise 1 fork, 5 x 2 s warm-up, 5 x 2 s measurement. Writes DIR/results.json
                            (JMH), DIR/summary.json and DIR/ratios.svg (default DIR rnn-bench/target/bench).

                            --accuracy: no timing; prints each backend's and peer's error on every scenario against
                            LibTorch running the same module in double precision (a minute or two).""");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'; see --help");
            }
        }
        if (accuracy) {
            List<String> oneThread = Arrays.stream(backends.split(",")).filter(b -> !b.contains(":")).toList();
            org.rnnkit.bench.accuracy.Accuracy.print(scenarios.split(","), oneThread, peers.contains("ort"),
                    peers.contains("libtorch"), System.out);
            return;
        }
        Files.createDirectories(out);
        Path results = reportOnly != null ? reportOnly : out.resolve("results.json");
        String[] sc = scenarios.split(",");
        List<String> training = new ArrayList<>(Arrays.stream(sc).filter(s -> s.equals("S2") || s.equals("S3")).toList());
        ChainedOptionsBuilder opt = new OptionsBuilder()
                .include("org\\.rnnkit\\.bench\\.layer\\.ScenarioBenchmark\\.")
                .param("scenario", sc).param("backend", backends.split(","))
                .resultFormat(ResultFormatType.JSON).result(results.toString()).forks(1);
        if (!training.isEmpty()) {
            opt.include("org\\.rnnkit\\.bench\\.layer\\.TrainingBenchmark\\.")
                    .param("trainScenario", training.toArray(String[]::new));
        }
        if (peers.contains("ort")) {
            opt.include("org\\.rnnkit\\.bench\\.peer\\.OrtBenchmark\\.");
        }
        if (peers.contains("libtorch")) {
            if (reportOnly == null) {
                warmLibTorchCache();
            }
            opt.include("org\\.rnnkit\\.bench\\.peer\\.LibTorchBenchmark\\.");
            if (!training.isEmpty()) {
                opt.include("org\\.rnnkit\\.bench\\.peer\\.LibTorchTrainingBenchmark\\.");
            }
        }
        List<String> contenders = Arrays.stream(backends.split(",")).filter(b -> !b.contains(":") && !b.equals("scalar"))
                .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
        if (peers.contains("libtorch")) {
            contenders.add("libtorch");
        }
        List<String> forwardContenders = new ArrayList<>(contenders), trainContenders = new ArrayList<>(contenders);
        if (peers.contains("ort")) {
            forwardContenders.add("ort"); // ORT has no training step
        }
        if (paired && forwardContenders.size() >= 2) {
            opt.include("org\\.rnnkit\\.bench\\.paired\\.PairedBenchmark\\.")
                    .param("contenders", String.join("+", forwardContenders));
            if (!training.isEmpty() && trainContenders.size() >= 2) {
                opt.include("org\\.rnnkit\\.bench\\.paired\\.PairedTrainingBenchmark\\.")
                        .param("trainContenders", String.join("+", trainContenders));
            }
        }
        if (quick) {
            opt.warmupIterations(1).warmupTime(TimeValue.seconds(1)).measurementIterations(3)
                    .measurementTime(TimeValue.seconds(1));
        }
        if (reportOnly == null) {
            printSetting();
            new Runner(opt.build()).run();
            // JMH records the JVM's absolute path; results get committed, and no machine path may be
            Files.writeString(results, Files.readString(results).replace(System.getProperty("java.home"), "${java.home}"));
        }
        List<Report.Row> rows = Report.read(results);
        List<Map<String, Object>> summary = Report.print(rows, System.out);
        Report.writeJson(out.resolve("summary.json"), rows, summary);
        Report.writeSvg(out.resolve("ratios.svg"), summary);
        System.out.println("wrote " + results + ", " + out.resolve("summary.json") + ", " + out.resolve("ratios.svg"));
    }

    /**
     * Every usable, not degraded backend as {@code NAME}, plus {@code NAME:2} for those that use a second
     * thread. (A degraded one, such as the vector backend at a width this JVM emulates, would measure the
     * emulation; {@code --backends} still takes it.)
     */
    private static List<String> defaultBackends() {
        List<String> specs = new ArrayList<>();
        for (org.rnnkit.backend.BackendInfo d : org.rnnkit.backend.Backends.discovered()) {
            if (d.autoSelectable()) {
                specs.add(d.name());
                org.rnnkit.backend.Backend b = org.rnnkit.backend.Backends.named(d.name());
                if (b.withThreads(2) != b) {
                    specs.add(d.name() + ":2");
                }
            }
        }
        return specs;
    }

    /**
     * JavaCPP extracts LibTorch's libraries into its cache on first use; the very first extraction on a
     * machine crashed a JVM here once (inside the library loader), later loads never did. So the first load
     * happens in a throwaway JVM, retried once, before any benchmark fork needs it.
     */
    private static void warmLibTorchCache() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int attempt = 1; attempt <= 2; attempt++) {
            Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), "org.rnnkit.bench.peer.LibTorchWarmUp")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor() == 0) {
                return;
            }
            System.err.println("rnnkit bench: loading LibTorch failed (attempt " + attempt + ", exit " + p.exitValue() + ")");
        }
    }

    /**
     * What the forks inherit that moves the results: each backend's probe (for native, OpenBLAS's kernel type
     * and who chose it) and the OpenBLAS variables of the environment, which reach LibTorch's OpenBLAS too.
     */
    private static void printSetting() {
        for (org.rnnkit.backend.BackendInfo d : org.rnnkit.backend.Backends.discovered()) {
            System.out.println("backend " + d.name() + ": " + d.status().toString().toLowerCase(java.util.Locale.ROOT)
                    + ": " + d.detail());
        }
        for (String v : new String[] {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"}) {
            String value = System.getenv(v);
            System.out.println(v + (value == null ? " not set" : "=" + value));
        }
    }
}

package org.rnnkit.bench.report;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.rnnkit.bench.Scenario;
import org.rnnkit.internal.json.Json;

/**
 * Turns a JMH JSON result into the benchmark report: a table per scenario (ms per call, GFLOP/s of the
 * matrix products, and each rnnkit backend's speed relative to each peer and to the best peer at the
 * same thread count), a JSON summary and an SVG bar chart of the ratios.
 *
 * <p>Thread safety: stateless.
 */
public final class Report {
    private Report() {}

    /**
     * One measured participant of a scenario. {@code paired}: from the paired benchmark, where the
     * contenders' calls alternate in one process; {@code perIteration} then holds its ms per call in each
     * measurement iteration (empty otherwise).
     */
    public record Row(String scenario, String task, String who, boolean peer, int threads, double ms, double error,
            boolean paired, double[] perIteration) {
        public Row(String scenario, String task, String who, boolean peer, int threads, double ms, double error) {
            this(scenario, task, who, peer, threads, ms, error, false, new double[0]);
        }

        /** Matrix-product GFLOP/s; training counts as three forward passes. */
        public double gflops() {
            double flops = Scenario.valueOf(scenario).forwardFlops() * (task.equals("train") ? 3 : 1);
            return flops / (ms * 1e-3) / 1e9;
        }
    }

    /** Reads JMH's JSON output ({@code -rf json}). */
    public static List<Row> read(Path jmhJson) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (Object o : Json.asList(Json.parse(Files.readString(jmhJson, StandardCharsets.UTF_8)), "results")) {
            Map<String, Object> r = Json.asObject(o, "result");
            String bench = Json.asString(r.get("benchmark"), "benchmark");
            Map<String, Object> params = r.get("params") == null ? Map.of() : Json.asObject(r.get("params"), "params");
            Map<String, Object> metric = Json.asObject(r.get("primaryMetric"), "primaryMetric");
            double score = Json.asDouble(metric.get("score"), "score");
            double err = metric.get("scoreError") instanceof Double d && !d.isNaN() ? d : 0;
            String unit = Json.asString(metric.get("scoreUnit"), "scoreUnit");
            double toMs = unit.startsWith("us") ? 1e-3 : unit.startsWith("s/") ? 1e3 : 1;
            String scenario = (String) (params.containsKey("trainScenario") ? params.get("trainScenario")
                    : params.get("scenario"));
            if (scenario == null) {
                continue; // not a scenario benchmark (e.g. kernels, variable lengths)
            }
            String cls = bench.substring(0, bench.lastIndexOf('.'));
            String simple = cls.substring(cls.lastIndexOf('.') + 1);
            boolean train = bench.endsWith(".train");
            if (simple.startsWith("Paired")) {
                rows.addAll(paired(r, scenario, train ? "train" : "forward", (String) (train ? params.get("trainContenders") : params.get("contenders"))));
                continue;
            }
            String who;
            boolean peer;
            int threads = params.get("threads") == null ? 1 : Integer.parseInt((String) params.get("threads"));
            if (simple.startsWith("Ort")) {
                who = "ONNX Runtime";
                peer = true;
            } else if (simple.startsWith("LibTorch")) {
                who = "LibTorch";
                peer = true;
            } else {
                who = (String) params.get("backend"); // NAME or NAME:THREADS
                peer = false;
                int colon = who.indexOf(':');
                if (colon >= 0) {
                    threads = Integer.parseInt(who.substring(colon + 1));
                    who = who.substring(0, colon);
                }
            }
            rows.add(new Row(scenario, train ? "train" : "forward", who, peer, threads, score * toMs, err * toMs));
        }
        return rows;
    }

    /**
     * The rows of one paired-benchmark result: contender i's time is the secondary result {@code ns<i>}
     * (summed over the measurement iterations, see {@code paired.Times}) over {@code calls}.
     */
    private static List<Row> paired(Map<String, Object> r, String scenario, String task, String contenders) {
        Map<String, Object> secondary = Json.asObject(r.get("secondaryMetrics"), "secondaryMetrics");
        double[] calls = iterations(secondary, "calls");
        double total = java.util.Arrays.stream(calls).sum();
        List<Row> rows = new ArrayList<>();
        String[] names = contenders.split("\\+");
        for (int i = 0; i < names.length; i++) {
            double[] ns = iterations(secondary, "ns" + i);
            double[] ms = new double[ns.length];
            for (int k = 0; k < ns.length; k++) {
                ms[k] = ns[k] / calls[k] / 1e6;
            }
            // before:NAME[:T] is backend NAME of an older build of rnnkit (paired.Baseline): row "before:NAME"
            String before = names[i].startsWith(BEFORE) ? BEFORE : "";
            String name = names[i].substring(before.length());
            int colon = name.indexOf(':');
            String base = colon < 0 ? name : name.substring(0, colon);
            int threads = colon < 0 ? 1 : Integer.parseInt(name.substring(colon + 1));
            boolean peer = before.isEmpty() && (base.equals("libtorch") || base.equals("ort"));
            String who = !before.isEmpty() ? before + base
                    : base.equals("libtorch") ? "LibTorch" : base.equals("ort") ? "ONNX Runtime" : base;
            rows.add(new Row(scenario, task, who, peer, threads, java.util.Arrays.stream(ns).sum() / total / 1e6, 0,
                    true, ms));
        }
        return rows;
    }

    /** The prefix of a paired contender from an older build of rnnkit, and of its row's {@code who}. */
    static final String BEFORE = "before:";

    /** A secondary result's value in each measurement iteration. */
    private static double[] iterations(Map<String, Object> secondary, String name) {
        Map<String, Object> m = Json.asObject(secondary.get(name), "secondaryMetrics." + name);
        List<Object> forks = Json.asList(m.get("rawData"), name + ".rawData");
        return forks.stream().flatMap(f -> Json.asList(f, name + ".rawData[]").stream())
                .mapToDouble(v -> Json.asDouble(v, name + " value")).toArray();
    }

    /** Prints the tables; returns the summary (per scenario and task, each backend's ratio to the best peer). */
    public static List<Map<String, Object>> print(List<Row> rows, PrintStream out) {
        List<Map<String, Object>> summary = new ArrayList<>();
        Map<String, List<Row>> groups = new LinkedHashMap<>();
        rows.stream().sorted((a, b) -> (a.scenario + a.task + a.paired).compareTo(b.scenario + b.task + b.paired))
                .forEach(r -> groups.computeIfAbsent(r.scenario + " " + r.task + " " + r.paired, k -> new ArrayList<>()).add(r));
        for (var e : groups.entrySet()) {
            List<Row> g = e.getValue();
            Row first = g.get(0);
            Scenario s = Scenario.valueOf(first.scenario);
            out.printf(Locale.ROOT, "%n%s %s%s — %s, %.3f MFLOP per call%n", first.scenario, first.task,
                    first.paired ? " (paired: calls alternating in one process)" : "", s.describe(),
                    s.forwardFlops() * (first.task.equals("train") ? 3 : 1) / 1e6);
            List<Row> peers = g.stream().filter(Row::peer).toList();
            StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "  %-14s %7s %12s %9s", "who",
                    "threads", "ms/call", "GFLOP/s"));
            for (Row p : peers) {
                head.append(String.format(Locale.ROOT, " %14s", "vs " + shortName(p)));
            }
            head.append(String.format(Locale.ROOT, " %14s", "vs best peer"));
            if (first.paired) {
                head.append(String.format(Locale.ROOT, " %20s", "per iteration"));
            }
            out.println(head);
            for (Row r : g) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-14s %7d %12.4f %9.2f", r.who,
                        r.threads, r.ms, r.gflops()));
                for (Row p : peers) {
                    line.append(String.format(Locale.ROOT, " %13.3fx", p.ms / r.ms));
                }
                Row best = peers.stream().filter(p -> p.threads == r.threads).min((a, b) -> Double.compare(a.ms, b.ms))
                        .orElse(null);
                line.append(best == null ? String.format(Locale.ROOT, " %14s", "-")
                        : String.format(Locale.ROOT, " %13.3fx", best.ms / r.ms));
                double[] spread = best == null ? null : spread(best, r);
                if (first.paired) {
                    line.append(spread == null ? String.format(Locale.ROOT, " %20s", "-")
                            : String.format(Locale.ROOT, " %8.3fx - %.3fx", spread[0], spread[1]));
                }
                out.println(line);
                if (!r.peer && best != null) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("scenario", r.scenario);
                    m.put("task", r.task);
                    m.put("backend", r.who);
                    m.put("threads", r.threads);
                    m.put("ms", r.ms);
                    m.put("gflops", r.gflops());
                    m.put("best_peer", shortName(best));
                    m.put("best_peer_ms", best.ms);
                    m.put("ratio_to_best_peer", best.ms / r.ms);
                    m.put("method", r.paired ? "paired" : "separate trials");
                    if (spread != null) {
                        m.put("ratio_min_per_iteration", spread[0]);
                        m.put("ratio_max_per_iteration", spread[1]);
                    }
                    summary.add(m);
                }
            }
            if (first.paired) {
                printBefore(g, out);
            }
        }
        out.println();
        out.println("ratio = peer's ms / this row's ms: above 1 means faster than that peer. Paired tables: the");
        out.println("contenders' calls alternate in one process, so their ratios share every slow phase of the");
        out.println("machine; 'per iteration' is the lowest and highest ratio to the best peer over the iterations.");
        return summary;
    }

    /**
     * An A/B of a change, measured in one process: for each row of this build with a {@code before:} twin
     * (the same backend and threads of the older build), the older build's time over this build's, overall
     * and per iteration.
     */
    private static void printBefore(List<Row> group, PrintStream out) {
        for (Row r : group) {
            for (Row old : group) {
                if (old.who.equals(BEFORE + r.who) && old.threads == r.threads) {
                    double[] spread = spread(old, r);
                    String t = r.threads == 1 ? "" : ":" + r.threads;
                    out.printf(Locale.ROOT, "  %s%s vs %s%s (older build's ms / this build's; above 1: faster now): %.3fx%s%n",
                            r.who, t, old.who, t, old.ms / r.ms, spread == null ? ""
                                    : String.format(Locale.ROOT, ", per iteration %.3fx - %.3fx", spread[0], spread[1]));
                }
            }
        }
    }

    /** Lowest and highest ratio of {@code peer} to {@code r} over the measurement iterations (paired rows). */
    private static double[] spread(Row peer, Row r) {
        if (!r.paired || !peer.paired || r.perIteration.length != peer.perIteration.length || r.perIteration.length == 0) {
            return null;
        }
        double lo = Double.MAX_VALUE, hi = 0;
        for (int k = 0; k < r.perIteration.length; k++) {
            double q = peer.perIteration[k] / r.perIteration[k];
            lo = Math.min(lo, q);
            hi = Math.max(hi, q);
        }
        return new double[] {lo, hi};
    }

    private static String shortName(Row p) {
        return (p.who.equals("ONNX Runtime") ? "ORT" : p.who) + " t" + p.threads;
    }

    /** Writes the rows and the summary as JSON. */
    public static void writeJson(Path file, List<Row> rows, List<Map<String, Object>> summary) throws IOException {
        List<Object> all = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("scenario", r.scenario);
            m.put("task", r.task);
            m.put("who", r.who);
            m.put("peer", r.peer);
            m.put("threads", r.threads);
            m.put("ms", r.ms);
            m.put("error_ms", r.error);
            m.put("gflops", r.gflops());
            m.put("method", r.paired ? "paired" : "separate trials");
            all.add(m);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("rows", all);
        doc.put("summary", new ArrayList<Object>(summary));
        Files.writeString(file, Json.writePretty(doc) + "\n", StandardCharsets.UTF_8);
    }

    /** Writes a horizontal bar chart (log scale) of each backend's ratio to the best peer. */
    public static void writeSvg(Path file, List<Map<String, Object>> summary) throws IOException {
        int rowH = 22, left = 290, width = 820, top = 40;
        int height = top + rowH * summary.size() + 50;
        double min = 0.01, max = 10; // log axis from 1/100 to 10x
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n", width, height));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append("<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">rnnkit speed relative to the best peer"
                + " (log scale; 1 = as fast)</text>\n");
        int plotW = width - left - 60;
        java.util.function.DoubleUnaryOperator xOf = v -> left
                + plotW * (Math.log10(Math.max(min, Math.min(max, v))) - Math.log10(min)) / (Math.log10(max) - Math.log10(min));
        for (double tick : new double[] {0.01, 0.1, 1, 10}) {
            double x = xOf.applyAsDouble(tick);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>%n",
                    x, top - 5, x, height - 40, tick == 1 ? "black" : "#ccc"));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%sx</text>%n", x,
                    height - 25, tick < 1 ? Double.toString(tick) : Integer.toString((int) tick)));
        }
        int i = 0;
        for (Map<String, Object> m : summary) {
            double ratio = (Double) m.get("ratio_to_best_peer");
            int y = top + i * rowH;
            double x0 = xOf.applyAsDouble(min), x1 = xOf.applyAsDouble(ratio);
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s %s %s (vs %s%s)</text>%n",
                    left - 8, y + 15, m.get("scenario"), m.get("task"), m.get("backend"), m.get("best_peer"),
                    "paired".equals(m.get("method")) ? ", paired" : ""));
            svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n",
                    x0, y + 3, Math.max(1, x1 - x0), rowH - 6, ratio >= 1 ? "#2a9d4b" : "#d9822b"));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.3fx</text>%n", x1 + 4, y + 15, ratio));
            i++;
        }
        svg.append("</svg>\n");
        Files.writeString(file, svg.toString(), StandardCharsets.UTF_8);
    }
}

package org.rnnkit.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report reads JMH's JSON: separate trials by their primary score, paired ones by their counters. */
class ReportTest {
    @TempDir
    Path dir;

    /** A paired result as JMH writes it: counters summed per iteration, two iterations, one fork. */
    private static final String PAIRED = """
            {"benchmark": "org.rnnkit.bench.paired.PairedBenchmark.forward", "mode": "avgt",
             "params": {"scenario": "S3", "contenders": "native+libtorch+ort"},
             "primaryMetric": {"score": 60.0, "scoreError": 1.0, "scoreUnit": "ms/op"},
             "secondaryMetrics": {
               "calls": {"score": 30.0, "scoreUnit": "#", "rawData": [[10.0, 20.0]]},
               "ns0": {"score": 6.0E8, "scoreUnit": "#", "rawData": [[2.0E8, 4.0E8]]},
               "ns1": {"score": 6.6E8, "scoreUnit": "#", "rawData": [[2.4E8, 4.2E8]]},
               "ns2": {"score": 9.0E8, "scoreUnit": "#", "rawData": [[3.0E8, 6.0E8]]},
               "ns3": {"score": 0.0, "scoreUnit": "#", "rawData": [[0.0, 0.0]]}}}
            """;

    private static final String SEPARATE = """
            {"benchmark": "org.rnnkit.bench.layer.ScenarioBenchmark.forward", "mode": "avgt",
             "params": {"scenario": "S3", "backend": "native:2"},
             "primaryMetric": {"score": 11.5, "scoreError": 0.25, "scoreUnit": "ms/op"}}
            """;

    @Test
    void pairedCountersBecomeOneRowPerContender() throws Exception {
        Path json = dir.resolve("r.json");
        Files.writeString(json, "[" + PAIRED + "," + SEPARATE + "]");
        List<Report.Row> rows = Report.read(json);
        assertEquals(4, rows.size());
        Report.Row nat = rows.get(0), lt = rows.get(1), ort = rows.get(2), sep = rows.get(3);
        // totals: 6e8 ns over 30 calls = 20 ms; per iteration 2e8/10 = 20 and 4e8/20 = 20
        assertEquals("native", nat.who());
        assertFalse(nat.peer());
        assertTrue(nat.paired());
        assertEquals(20.0, nat.ms(), 1e-12);
        assertEquals("LibTorch", lt.who());
        assertTrue(lt.peer());
        assertEquals(22.0, lt.ms(), 1e-12);
        assertEquals(24.0, lt.perIteration()[0], 1e-12);
        assertEquals(21.0, lt.perIteration()[1], 1e-12);
        assertEquals("ONNX Runtime", ort.who());
        assertEquals(30.0, ort.ms(), 1e-12);
        assertEquals("native", sep.who());
        assertEquals(2, sep.threads());
        assertFalse(sep.paired());
        assertEquals(11.5, sep.ms(), 1e-12);
    }

    @Test
    void pairedSummaryComparesWithTheFasterPeerAndGivesTheSpread() throws Exception {
        Path json = dir.resolve("r.json");
        Files.writeString(json, "[" + PAIRED + "]");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        List<Map<String, Object>> summary = Report.print(Report.read(json), new PrintStream(text, true, StandardCharsets.UTF_8));
        assertEquals(1, summary.size());
        Map<String, Object> m = summary.get(0);
        assertEquals("LibTorch t1", m.get("best_peer"));
        assertEquals("paired", m.get("method"));
        assertEquals(22.0 / 20.0, (Double) m.get("ratio_to_best_peer"), 1e-12);
        assertEquals(21.0 / 20.0, (Double) m.get("ratio_min_per_iteration"), 1e-12);
        assertEquals(24.0 / 20.0, (Double) m.get("ratio_max_per_iteration"), 1e-12);
        assertTrue(text.toString(StandardCharsets.UTF_8).contains("paired: calls alternating in one process"));
    }

    /** An A/B in one process: native of this build against native of an older build, at two threads. */
    private static final String BEFORE = """
            {"benchmark": "org.rnnkit.bench.paired.PairedTrainingBenchmark.train", "mode": "avgt",
             "params": {"trainScenario": "S2", "trainContenders": "native:2+before:native:2"},
             "primaryMetric": {"score": 9.0, "scoreError": 0.1, "scoreUnit": "ms/op"},
             "secondaryMetrics": {
               "calls": {"score": 30.0, "scoreUnit": "#", "rawData": [[10.0, 20.0]]},
               "ns0": {"score": 1.2E8, "scoreUnit": "#", "rawData": [[4.0E7, 8.0E7]]},
               "ns1": {"score": 1.26E8, "scoreUnit": "#", "rawData": [[4.4E7, 8.2E7]]}}}
            """;

    @Test
    void beforeContendersBecomeRowsOfTheirOwnAndAnAbLine() throws Exception {
        Path json = dir.resolve("r.json");
        Files.writeString(json, "[" + BEFORE + "]");
        List<Report.Row> rows = Report.read(json);
        assertEquals(2, rows.size());
        Report.Row now = rows.get(0), old = rows.get(1);
        assertEquals("native", now.who());
        assertEquals("before:native", old.who());
        assertFalse(old.peer());
        assertEquals(2, old.threads());
        assertEquals(4.2, old.ms(), 1e-12); // 1.26e8 ns over 30 calls
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        List<Map<String, Object>> summary = Report.print(rows, new PrintStream(text, true, StandardCharsets.UTF_8));
        assertTrue(summary.isEmpty()); // no peer to compare with
        // 4.2 / 4.0 overall; per iteration 4.4/4.0 and 4.1/4.0
        assertTrue(text.toString(StandardCharsets.UTF_8).contains("native:2 vs before:native:2 (older build's ms / this "
                + "build's; above 1: faster now): 1.050x, per iteration 1.025x - 1.100x"), text.toString(StandardCharsets.UTF_8));
    }
}

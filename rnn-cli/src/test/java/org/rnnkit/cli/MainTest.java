package org.rnnkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.io.Npy;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tck.Tolerance;

/** The command end to end, in process: exit codes, tables, messages. */
class MainTest {
    private static final Path HOME = Path.of(System.getProperty("rnnkit.home", ".."));
    private static final Path GOLDEN = HOME.resolve("testdata/golden");

    private static Cli.Result run(String... args) {
        return Cli.run(args);
    }

    @Test
    void backendsListsScalarAndTheAutoChoice() {
        Cli.Result r = run("backends");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("scalar"), r.out());
        assertTrue(r.out().contains("auto picks: "), r.out());
    }

    @Test
    void verifyPassesGoldenCasesOnOneDirectory() {
        Cli.Result r = run("verify", GOLDEN.resolve("034_lstm_l2_bi_bf_p6_i8_h8_s25_b6").toString(), "--backend", "scalar");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("PASS"), r.out());
        assertTrue(r.out().contains("1 passed, 0 failed"), r.out());
    }

    @Test
    void verifyAllBackendsReportsEveryDiscoveredOne() {
        Cli.Result r = run("verify", GOLDEN.resolve("000_rnntanh_l1_uni_i9_h3_s21_b6").toString(), "--backend", "all");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("scalar"), r.out());
    }

    @Test
    void verifyFailsOnWrongExpectedValues(@TempDir Path tmp) throws Exception {
        Path src = GOLDEN.resolve("000_rnntanh_l1_uni_i9_h3_s21_b6");
        Path dst = tmp.resolve("broken");
        Files.createDirectories(dst);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) {
                Files.copy(f, dst.resolve(f.getFileName()));
            }
        }
        Tensor out = Npy.readFloat32(dst.resolve("output.npy"));
        out.data()[7] += 1e-3f; // far beyond 1e-5*max(1,|max|) + 1e-4*|x| for values of order 1
        Npy.writeFloat32(dst.resolve("output.npy"), out);
        Cli.Result r = run("verify", dst.toString(), "--backend", "scalar");
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("FAIL"), r.out());
        assertTrue(r.out().contains("output[7]"), r.out());
    }

    @Test
    void verifyExplainsThatTrainingCasesAreNotItsKind() {
        Path c = HOME.resolve("testdata/golden-training/000_lstm_sgd_momentum_clipnorm");
        Cli.Result r = run("verify", c.toString(), "--backend", "scalar");
        assertTrue(r.status() != 0, "status " + r.status());
        assertTrue(r.err().contains("a training case") && r.err().contains("GoldenTrainingTest"), r.err());
    }

    @Test
    void unknownBackendIsAClearUsageError() {
        Cli.Result r = run("verify", GOLDEN.toString(), "--backend", "nope");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("unknown backend 'nope'; known: "), r.err());
    }

    @Test
    void unknownCommandAndOptionAreUsageErrors() {
        assertEquals(2, run("frobnicate").status());
        Cli.Result r = run("verify", "--frob");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("unknown option '--frob'"), r.err());
        assertTrue(r.err().contains("usage: rnnkit verify"), r.err());
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[] {"backends", "verify", "run", "train", "sample", "decode"}) {
            Cli.Result r = run(cmd, "--help");
            assertEquals(0, r.status(), cmd);
            assertTrue(r.out().startsWith("usage: rnnkit"), cmd + ": " + r.out());
        }
    }

    @Test
    void runWritesResultsThatMatchTheGoldenCase(@TempDir Path tmp) throws Exception {
        Path c = GOLDEN.resolve("034_lstm_l2_bi_bf_p6_i8_h8_s25_b6");
        Cli.Result r = run("run", "--model", c.resolve("model.safetensors").toString(), "--input",
                c.resolve("input.npy").toString(), "--h0", c.resolve("h0.npy").toString(), "--c0",
                c.resolve("c0.npy").toString(), "--out", tmp.toString(), "--backend", "scalar");
        assertEquals(0, r.status(), r.out() + r.err());
        for (String f : new String[] {"output.npy", "h_n.npy", "c_n.npy"}) {
            Tensor got = Npy.readFloat32(tmp.resolve(f)), want = Npy.readFloat32(c.resolve(f));
            assertTrue(Tolerance.FORWARD.compare(f, got.data(), want.data()).passed(), f);
        }
    }

    @Test
    void runRejectsAMissingRequiredOption() {
        Cli.Result r = run("run", "--model", GOLDEN.resolve("034_lstm_l2_bi_bf_p6_i8_h8_s25_b6/model.safetensors").toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("missing required option --input"), r.err());
    }

    @Test
    void trainWritesACheckpointThatSampleReads(@TempDir Path tmp) throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "the cat sat on the mat. the dog sat on the log. ".repeat(40));
        Path ckpt = tmp.resolve("lm.safetensors");
        Cli.Result r = run("train", "--corpus", corpus.toString(), "--out", ckpt.toString(), "--steps", "12",
                "--hidden", "16", "--seq-len", "16", "--batch", "4", "--sample-every", "6", "--backend", "scalar");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("step 12/12"), r.err());
        assertTrue(r.out().contains("--- sample after step 6 ---"), r.out());
        assertTrue(Files.size(ckpt) > 0);
        Cli.Result s = run("sample", "--model", ckpt.toString(), "--prime", "the ", "--length", "30", "--backend", "scalar");
        assertEquals(0, s.status(), s.out() + s.err());
        assertTrue(s.out().startsWith("the "), s.out());
        assertEquals(4 + 30 + System.lineSeparator().length(), s.out().length(), "prime, 30 characters, newline");
        Cli.Result bad = run("sample", "--model", ckpt.toString(), "--prime", "XYZ", "--backend", "scalar");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("is not in the model's vocabulary"), bad.err());
    }

    /** --threads changes how kernels split a call, never a result: the checkpoints are byte for byte the same. */
    @Test
    void trainOnTwoThreadsWritesTheSameCheckpoint(@TempDir Path tmp) throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "the cat sat on the mat. the dog sat on the log. ".repeat(200));
        byte[][] files = new byte[2][];
        for (int threads = 1; threads <= 2; threads++) {
            Path ckpt = tmp.resolve("lm" + threads + ".safetensors");
            Cli.Result r = run("train", "--corpus", corpus.toString(), "--out", ckpt.toString(), "--steps", "5",
                    "--hidden", "64", "--seq-len", "32", "--batch", "16", "--sample-every", "0", "--threads",
                    Integer.toString(threads));
            assertEquals(0, r.status(), r.out() + r.err());
            files[threads - 1] = Files.readAllBytes(ckpt);
        }
        assertTrue(java.util.Arrays.equals(files[0], files[1]), "checkpoints of 1 and 2 threads differ");
        Cli.Result bad = run("train", "--corpus", corpus.toString(), "--out", tmp.resolve("x.safetensors").toString(),
                "--threads", "0");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--threads"), bad.err());
    }

    /** A structure case (seq2seq: logits, loss, every gradient, greedy tokens) runs through verify like a layer case. */
    @Test
    void verifyRunsAStructureCase() throws Exception {
        Cli.Result r = run("verify", HOME.resolve("testdata/structures/004_seq2seq-every_lstm_l1_i1_h4_v5_b3").toString(),
                "--backend", "scalar");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("004_seq2seq-every_lstm_l1_i1_h4_v5_b3") && r.out().contains("PASS")
                && r.out().contains("1 passed, 0 failed"), r.out());
    }

    /** The seq2seq demo end to end: a short training run writes a checkpoint that decode reads. */
    @Test
    void trainSeq2SeqWritesACheckpointThatDecodeReads(@TempDir Path tmp) throws Exception {
        Path ckpt = tmp.resolve("s2s.safetensors");
        Cli.Result r = run("train", "--task", "seq2seq", "--out", ckpt.toString(), "--steps", "20", "--hidden", "16",
                "--batch", "8", "--eval-every", "10", "--backend", "scalar");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("step 20/20") && r.err().contains("held-out exact"), r.err());
        assertTrue(r.out().contains("held-out exact match") && Files.size(ckpt) > 0, r.out());
        Cli.Result d = run("decode", "--model", ckpt.toString(), "--beam", "3", "--backend", "scalar", "March 7, 2021",
                "07.03.2021");
        assertEquals(0, d.status(), d.out() + d.err());
        assertTrue(d.out().startsWith("March 7, 2021  ->  greedy ") && d.out().contains("beam(3) "), d.out());
        Cli.Result bad = run("decode", "--model", ckpt.toString(), "--backend", "scalar", "7 März 2021");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("is not in the model's vocabulary"), bad.err());
        Cli.Result wrongTask = run("train", "--task", "poetry");
        assertEquals(2, wrongTask.status());
        assertTrue(wrongTask.err().contains("--task: expected char-lm or seq2seq"), wrongTask.err());
    }
}

package org.rnnkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.io.Npy;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;

/**
 * The command under hostile and faulty input: every case ends in one clear line on standard error with the
 * documented exit status ({@link Main}), or in a correct result; never a stack trace, an out-of-memory error,
 * a hang, a half-written or mixed result. Cases that need their own process (a full disk, concurrent runs,
 * the locale) run the command in a child JVM.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a read that blocks forever (a FIFO) fails instead of hanging CI
class HostileInputTest {
    private static final Path HOME = Path.of(System.getProperty("rnnkit.home", ".."));
    private static final Path GOLDEN = HOME.resolve("testdata/golden");
    private static final Path LSTM = GOLDEN.resolve("034_lstm_l2_bi_bf_p6_i8_h8_s25_b6");
    private static final Path GRU = GOLDEN.resolve("037_gru_l1_uni_i1_h65_s13_b2");

    record Result(int status, String out, String err) {
        /** One line, no stack trace, the expected status, and every expected fragment. */
        Result fails(int expected, String... fragments) {
            assertEquals(expected, status, "exit status; stderr: " + err + " stdout: " + out);
            String first = err.lines().findFirst().orElse("");
            assertTrue(first.startsWith("rnnkit "), "stderr starts with the command's name: " + err);
            assertFalse(err.contains("\tat ") || err.contains("Exception in thread"), "a stack trace: " + err);
            assertTrue(first.length() <= Main.MAX_MESSAGE + 60, "a bounded line: " + first.length() + " characters");
            for (String f : fragments) {
                assertTrue(first.contains(f), "expected '" + f + "' in: " + first);
            }
            return this;
        }
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** {@code rnnkit run} of a golden case into {@code out}, with extra arguments. */
    static String[] runCase(Path c, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("run", "--model", c.resolve("model.safetensors").toString(), "--input",
                c.resolve("input.npy").toString(), "--out", out.toString(), "--backend", "scalar"));
        for (String s : new String[] {"h0", "c0"}) {
            if (Files.exists(c.resolve(s + ".npy"))) {
                a.addAll(List.of("--" + s, c.resolve(s + ".npy").toString()));
            }
        }
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** The folder holds exactly the golden case's results (bit for bit: the scalar backend is deterministic). */
    static void holdsResultsOf(Path c, Path out) throws IOException {
        for (String f : new String[] {"output.npy", "h_n.npy", "c_n.npy"}) {
            boolean expected = Files.exists(c.resolve(f));
            assertEquals(expected, Files.exists(out.resolve(f)), f + " present");
        }
        assertEquals(List.of(), hiddenLeftovers(out), "temporary files left");
    }

    static List<String> hiddenLeftovers(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
        }
    }

    static void mkfifo(Path p) throws Exception {
        Process pr;
        try {
            pr = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        } catch (IOException e) {
            Assumptions.abort("mkfifo is not available: " + e.getMessage());
            return;
        }
        assertEquals(0, pr.waitFor());
    }

    // ---- input files ----------------------------------------------------------------------------------

    @Test
    void missingUnreadableAndSpecialInputFilesAreNamed(@TempDir Path tmp) throws Exception {
        run(runCase(LSTM, tmp, "--model", tmp.resolve("nope.safetensors").toString()))
                .fails(2, "--model", "nope.safetensors", "no such file");
        run(runCase(LSTM, tmp, "--model", tmp.toString())).fails(2, "--model", "is a directory");
        run(runCase(LSTM, tmp, "--input", "/dev/zero")).fails(2, "--input", "not a regular file");
        Path fifo = tmp.resolve("fifo.npy");
        mkfifo(fifo);
        run(runCase(LSTM, tmp, "--input", fifo.toString())).fails(2, "--input", "not a regular file");
        run(runCase(LSTM, tmp, "--model", fifo.toString())).fails(2, "--model", "not a regular file");
    }

    /**
     * An unreadable input and an unwritable output folder. Permissions do not bind root, which CI may be:
     * then the command runs in a child JVM as user {@code nobody} (setpriv), on a copy of its class path
     * that user can read.
     */
    @Test
    void unreadableInputsAndUnwritableFoldersAreNamed(@TempDir Path tmp) throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path locked = tmp.resolve("locked.npy");
        Files.copy(LSTM.resolve("input.npy"), locked);
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        Path readOnly = Files.createDirectory(tmp.resolve("ro"));
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
        Path out = Files.createDirectory(tmp.resolve("out"));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxrwxrwx"));
        String[] unreadable = runCase(LSTM, out, "--input", locked.toString());
        String[] unwritable = runCase(LSTM, readOnly);
        if (Files.isReadable(locked)) { // root
            Child a = asNobody(tmp, unreadable), b = asNobody(tmp, unwritable);
            assertEquals(2, a.status, a.err);
            assertEquals("rnnkit run: --input: '" + locked + "': permission denied (not readable)", a.err.strip());
            assertEquals(2, b.status, b.err);
            assertEquals("rnnkit run: --out: '" + readOnly + "': permission denied (the directory is not writable)",
                    b.err.strip());
        } else {
            run(unreadable).fails(2, "--input", "permission denied (not readable)");
            run(unwritable).fails(2, "--out", "permission denied (the directory is not writable)");
        }
    }

    /** The command as user nobody, with the API, the scalar backend and the command copied where nobody reads them. */
    private static Child asNobody(Path tmp, String... args) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
        Path cp = Files.createDirectories(tmp.resolve("classpath"));
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (e.contains("rnn-api") || e.contains("rnn-cpu-scalar") || e.contains("rnn-cli")) {
                Path src = Path.of(e), dst = cp.resolve(entries.size() + "-" + src.getFileName());
                if (!Files.exists(dst)) { // copied by an earlier call
                    copyTree(src, dst);
                }
                entries.add(dst.toString());
            }
        }
        try (Stream<Path> all = Files.walk(tmp.resolve("classpath"))) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-XX:-UsePerfData",
                "-Duser.home=/tmp", "-cp", String.join(java.io.File.pathSeparator, entries), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile());
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes(), err = p.getErrorStream().readAllBytes();
        return new Child(p.waitFor(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private static void copyTree(Path src, Path dst) throws IOException {
        if (!Files.isDirectory(src)) {
            Files.copy(src, dst);
            return;
        }
        try (Stream<Path> all = Files.walk(src)) {
            for (Path p : all.toList()) {
                Files.copy(p, dst.resolve(src.relativize(p).toString()));
            }
        }
    }

    @Test
    void badOutputFoldersAreRefusedBeforeAnyWork(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        run(runCase(LSTM, file)).fails(2, "--out", "exists and is not a directory");
        run(runCase(LSTM, tmp, "--out", "")).fails(2, "--out: expected a path, got an empty string");
    }

    // ---- sizes ----------------------------------------------------------------------------------------

    @Test
    void aBillionLayersIsRefusedBeforeAllocation(@TempDir Path tmp) throws Exception {
        run(runCase(GRU, tmp, "--num-layers", "1000000000")).fails(2, "num_layers=1000000000", "4 given");
        // a real model that large: the budget speaks, before anything is allocated
        run(runCase(GRU, tmp, "--hidden-size", "20000", "--input-size", "20000")).fails(3, "hidden_size=20000",
                "memory budget", "-Drnnkit.memory.budget");
        // the same claim inside a 14 KB model file
        Path model = tmp.resolve("claims.safetensors");
        Map<String, String> meta = new HashMap<>(SafeTensors.read(GRU.resolve("model.safetensors")).metadata());
        meta.put("num_layers", "1000000000");
        SafeTensors.write(model, SafeTensors.read(GRU.resolve("model.safetensors")).tensors(), meta);
        run(runCase(GRU, tmp, "--model", model.toString())).fails(2, "claims.safetensors", "num_layers=1000000000 has "
                + "4,000,000,000 parameter tensors, 4 given");
        assertEquals(List.of(), hiddenLeftovers(tmp));
        assertFalse(Files.exists(tmp.resolve("output.npy")));
    }

    @Test
    void aHundredThousandMissingTensorsMakeOneShortLine(@TempDir Path tmp) throws Exception {
        Result r = run(runCase(GRU, tmp, "--num-layers", "100000", "--hidden-size", "1", "--input-size", "1"))
                .fails(2, "num_layers=100000 has 400,000 parameter tensors, 4 given");
        assertTrue(r.err.length() < 1000, r.err.length() + " characters");
        // many problems of another kind: eight are listed, the rest counted
        Map<String, Tensor> tensors = new HashMap<>(SafeTensors.read(GRU.resolve("model.safetensors")).tensors());
        for (int i = 0; i < 20; i++) {
            tensors.put("junk_" + i, Tensor.zeros(1));
        }
        Path model = tmp.resolve("junk.safetensors");
        SafeTensors.write(model, tensors, SafeTensors.read(GRU.resolve("model.safetensors")).metadata());
        r = run(runCase(GRU, tmp, "--model", model.toString())).fails(2, "unexpected tensor 'junk_",
                "and 12 more (0 missing, 0 mis-shaped, 20 unexpected in all; 4 tensors expected, 24 given)");
        assertEquals(8, r.err.split("unexpected tensor").length - 1, r.err);
    }

    @Test
    void anInputTooLargeForTheBudgetIsRefusedBeforeAllocation(@TempDir Path tmp) throws Exception {
        Path big = tmp.resolve("long.npy");
        Npy.writeFloat32(big, Tensor.zeros(4_194_304, 1, 1)); // 16 MB: (T=4194304, B=1, I=1) into a GRU of 65
        Result r = run("run", "--model", GRU.resolve("model.safetensors").toString(), "--input", big.toString(),
                "--out", tmp.toString(), "--backend", "scalar");
        r.fails(3, "running 4194304 steps x 1 rows", "memory budget");
        assertFalse(Files.exists(tmp.resolve("output.npy")));
    }

    @Test
    void theBudgetIsAPropertyWithAClearParseError(@TempDir Path tmp) {
        String old = System.getProperty(MemoryBudget.PROPERTY);
        try {
            System.setProperty(MemoryBudget.PROPERTY, "lots");
            run(runCase(LSTM, tmp)).fails(2, "rnnkit.memory.budget: expected a size", "got 'lots'");
            System.setProperty(MemoryBudget.PROPERTY, "1k");
            run(runCase(LSTM, tmp)).fails(3, "memory budget of 1.0 KB", "-Drnnkit.memory.budget=1k");
            System.setProperty(MemoryBudget.PROPERTY, "64m");
            assertEquals(0, run(runCase(LSTM, tmp)).status);
        } finally {
            if (old == null) {
                System.clearProperty(MemoryBudget.PROPERTY);
            } else {
                System.setProperty(MemoryBudget.PROPERTY, old);
            }
        }
    }

    // ---- outputs --------------------------------------------------------------------------------------

    @Test
    void aRunReplacesTheWholeSetOfAnEarlierRun(@TempDir Path tmp) throws Exception {
        assertEquals(0, run(runCase(LSTM, tmp)).status);
        holdsResultsOf(LSTM, tmp);
        assertEquals(0, run(runCase(GRU, tmp)).status);
        holdsResultsOf(GRU, tmp); // the LSTM run's c_n.npy is gone
        assertArrayEquals(Npy.readFloat32(GRU.resolve("output.npy")).shape(),
                Npy.readFloat32(tmp.resolve("output.npy")).shape());
    }

    @Test
    void aFailedWriteLeavesTheEarlierResultsUntouched(@TempDir Path tmp) throws Exception {
        assertEquals(0, run(runCase(GRU, tmp)).status);
        byte[] before = Files.readAllBytes(tmp.resolve("output.npy"));
        Files.delete(tmp.resolve("h_n.npy"));
        Files.createDirectories(tmp.resolve("h_n.npy").resolve("in-the-way"));
        run(runCase(LSTM, tmp)).fails(2, "h_n.npy", "is a directory");
        assertArrayEquals(before, Files.readAllBytes(tmp.resolve("output.npy")), "output.npy of the earlier run");
        assertFalse(Files.exists(tmp.resolve("c_n.npy")), "nothing of the failed run");
        assertEquals(List.of(), hiddenLeftovers(tmp));
    }

    @Test
    void aFullDiskLeavesNoPartialFile(@TempDir Path tmp) throws Exception {
        // ulimit -f 2: files of at most 2 KB (bash counts 1024-byte blocks); the LSTM case's output.npy (7.3 KB) is larger
        Path out = Files.createDirectory(tmp.resolve("out"));
        Child c = child(List.of("ulimit -f 2"), Map.of(), runCase(LSTM, out));
        assertEquals(3, c.status, c.err);
        assertTrue(c.err.startsWith("rnnkit run: ") && c.err.lines().count() == 1, c.err);
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(ResultFolder.LOCK))
                    .toList(), "no file, whole or partial");
        }
    }

    @Test
    void concurrentRunsIntoOneFolderNeverMix(@TempDir Path tmp) throws Exception {
        Path out = Files.createDirectory(tmp.resolve("shared"));
        for (int round = 0; round < 4; round++) {
            Process a = childProcess(List.of(), Map.of(), runCase(LSTM, out));
            Process b = childProcess(List.of(), Map.of(), runCase(GRU, out));
            assertEquals(0, a.waitFor(), new String(a.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(0, b.waitFor(), new String(b.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            Tensor output = Npy.readFloat32(out.resolve("output.npy")), h = Npy.readFloat32(out.resolve("h_n.npy"));
            boolean lstmWon = output.sameShape(Npy.readFloat32(LSTM.resolve("output.npy")).shape());
            Path winner = lstmWon ? LSTM : GRU;
            assertArrayEquals(Npy.readFloat32(winner.resolve("h_n.npy")).shape(), h.shape(), "h_n.npy of the same run");
            holdsResultsOf(winner, out);
        }
    }

    // ---- train, sample, verify --------------------------------------------------------------------------

    @Test
    void trainOptionsAreCheckedBeforeTraining(@TempDir Path tmp) throws Exception {
        Path corpus = Files.writeString(tmp.resolve("c.txt"), "the cat sat on the mat. ".repeat(50));
        String[] base = {"train", "--corpus", corpus.toString(), "--steps", "2", "--hidden", "8", "--seq-len", "8",
            "--batch", "2", "--backend", "scalar", "--out", tmp.resolve("m.safetensors").toString()};
        run(with(base, "--seq-len", "2147483647")).fails(2, "2147483647 x 2 characters per step exceed");
        run(with(base, "--seq-len", "2147483000", "--batch", "1")).fails(2, "too short", "2147483001 characters");
        // without --corpus: the default corpus, a directory, is accepted, and the next check speaks
        run("train", "--lr", "Infinity").fails(2, "--lr: expected a finite number above 0.0, got Infinity");
        for (String lr : new String[] {"Infinity", "NaN", "-1", "0", "abc"}) {
            run(with(base, "--lr", lr)).fails(2, "--lr: expected a", lr);
        }
        run(with(base, "--seed", "abc")).fails(2, "--seed: expected an integer, got 'abc'");
        run(with(base, "--dropout", "1")).fails(2, "--dropout");
        run(with(base, "--steps", "-5")).fails(2, "--steps: expected an integer from 1");
        Result r = run(with(base, "--out", tmp.resolve("missing/dir/m.safetensors").toString()))
                .fails(2, "--out", "does not exist");
        assertFalse(r.err.contains("step 1"), "refused before the first step");
        run(with(base, "--out", tmp.toString())).fails(2, "--out", "is a directory");
        run(with(base, "--hidden", "20000")).fails(3, "memory budget", "hidden_size=20000");
    }

    @Test
    void trainCorporaThatAreNotTextAreRefused(@TempDir Path tmp) throws Exception {
        String[] base = {"train", "--steps", "1", "--hidden", "8", "--seq-len", "8", "--batch", "2", "--backend",
            "scalar", "--out", tmp.resolve("m.safetensors").toString()};
        run(with(base, "--corpus", "/dev/zero")).fails(2, "--corpus", "not a regular file");
        Path fifo = tmp.resolve("corpus.fifo");
        mkfifo(fifo);
        run(with(base, "--corpus", fifo.toString())).fails(2, "--corpus", "not a regular file");
        byte[] latin1 = "caf\u00e9 au lait, ".repeat(20).getBytes(StandardCharsets.ISO_8859_1);
        Path bad = Files.write(tmp.resolve("latin1.txt"), latin1);
        run(with(base, "--corpus", bad.toString())).fails(2, "not UTF-8 text: byte 0xE9 at offset 3");
        run(with(base, "--corpus", tmp.resolve("none.txt").toString())).fails(2, "--corpus", "no such file");
        assertFalse(Files.exists(tmp.resolve("m.safetensors")));
    }

    @Test
    void aDivergingRunStopsWithoutWritingNaNs(@TempDir Path tmp) throws Exception {
        Path corpus = Files.writeString(tmp.resolve("c.txt"), "the cat sat on the mat. ".repeat(50));
        Path ckpt = tmp.resolve("m.safetensors");
        Result r = run("train", "--corpus", corpus.toString(), "--steps", "50", "--hidden", "8", "--seq-len", "8",
                "--batch", "2", "--backend", "scalar", "--out", ckpt.toString(), "--lr", "1e38", "--clip", "1e30",
                "--sample-every", "0");
        assertEquals(1, r.status, r.err);
        assertTrue(r.err.contains("diverged at step"), r.err);
        assertFalse(Files.exists(ckpt), "no checkpoint of NaNs");
    }

    @Test
    void sampleOptionsAreChecked(@TempDir Path tmp) {
        run("sample", "--model", tmp.resolve("x.safetensors").toString()).fails(2, "--model", "no such file");
        run("sample", "--model", LSTM.resolve("model.safetensors").toString(), "--length", "abc")
                .fails(2, "--length: expected an integer, got 'abc'");
        run("sample", "--model", LSTM.resolve("model.safetensors").toString(), "--temperature", "NaN")
                .fails(2, "--temperature");
    }

    @Test
    void verifyPrintsCaseNamesWithTheirEscapesVisible(@TempDir Path tmp) throws Exception {
        Path c = Files.createDirectories(tmp.resolve("cases/evil"));
        try (Stream<Path> s = Files.list(GOLDEN.resolve("000_rnntanh_l1_uni_i9_h3_s21_b6"))) {
            for (Path f : s.toList()) {
                Files.copy(f, c.resolve(f.getFileName().toString()));
            }
        }
        String json = Files.readString(c.resolve("case.json")).replace("\"name\": \"000_rnntanh_l1_uni_i9_h3_s21_b6\"",
                "\"name\": \"evil\\u001b]0;owned\\u0007\\u001b[2J\"");
        Files.writeString(c.resolve("case.json"), json);
        Result r = run("verify", tmp.resolve("cases").toString(), "--backend", "scalar");
        assertEquals(0, r.status, r.out + r.err);
        assertFalse(r.out.contains("\u001b") || r.out.contains("\u0007"), "a raw control character reached the terminal");
        assertTrue(r.out.contains("evil\\u001b]0;owned\\u0007\\u001b[2J"), r.out);
    }

    @Test
    void unknownOptionsAndValuesAreQuotedSafely() {
        run("run", "--\u001b[2Jevil", "x").fails(2, "unknown option '--\\u001b[2Jevil'");
    }

    // ---- the locale -----------------------------------------------------------------------------------

    @Test
    void nonAsciiPathsWorkInAUtf8LocaleAndAreExplainedInOthers(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue("UTF-8".equals(System.getProperty("sun.jnu.encoding")),
                "this JVM cannot name non-ASCII files itself (sun.jnu.encoding=" + System.getProperty("sun.jnu.encoding") + ")");
        Path model = tmp.resolve("mod\u00e8le-\u00fcn\u00efcode-\u6a21\u578b.safetensors");
        Files.copy(GRU.resolve("model.safetensors"), model);
        Path out = tmp.resolve("r\u00e9sultats");
        // what the launcher does when the locale is not UTF-8
        Child ok = child(List.of(), Map.of("LC_ALL", "C.UTF-8"), runCase(GRU, out, "--model", model.toString()));
        assertEquals(0, ok.status, ok.err);
        holdsResultsOf(GRU, out);
        // a JVM started in the C locale directly, without the launcher: a clear line, not a stack trace
        Child c = child(List.of(), Map.of("LC_ALL", "C", "LANG", "C"), runCase(GRU, out, "--model", model.toString()));
        assertEquals(2, c.status, c.err);
        assertTrue(c.err.startsWith("rnnkit run: --model") && c.err.lines().count() == 1, c.err);
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private static String[] with(String[] base, String... more) {
        List<String> a = new ArrayList<>(List.of(base));
        for (int i = 0; i < more.length; i += 2) {
            int at = a.indexOf(more[i]);
            if (at >= 0) {
                a.set(at + 1, more[i + 1]);
            } else {
                a.add(more[i]);
                a.add(more[i + 1]);
            }
        }
        return a.toArray(String[]::new);
    }

    /** A child's exit status and output; the JVM's own WARNING lines (native access, incubator) left out of err. */
    record Child(int status, String out, String err) {
        Child {
            err = String.join("\n", err.lines().filter(l -> !l.startsWith("WARNING: ")).toList());
        }
    }

    /** Runs the command in a child JVM (the test class path), after shell lines such as {@code ulimit -f 2}. */
    private static Child child(List<String> shell, Map<String, String> env, String... args) throws Exception {
        Process p = childProcess(shell, env, args);
        byte[] out = p.getInputStream().readAllBytes(), err = p.getErrorStream().readAllBytes();
        return new Child(p.waitFor(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private static Process childProcess(List<String> shell, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:-UsePerfData", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        StringBuilder script = new StringBuilder();
        for (String line : shell) {
            script.append(line).append("; ");
        }
        script.append("exec \"$@\"");
        List<String> full = new ArrayList<>(List.of("bash", "-c", script.toString(), "rnnkit"));
        full.addAll(cmd);
        ProcessBuilder pb = new ProcessBuilder(full);
        pb.environment().remove("JAVA_TOOL_OPTIONS"); // its "Picked up" line would be a second line on stderr
        if (env.containsKey("LC_ALL")) { // the locale under test, nothing inherited
            pb.environment().keySet().removeIf(k -> k.equals("LANG") || k.startsWith("LC_"));
        }
        pb.environment().putAll(env);
        return pb.start();
    }
}

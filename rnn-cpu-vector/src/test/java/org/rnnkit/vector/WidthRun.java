package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.DirectionWeights;

/**
 * The vector backend's results on a fixed set of kernel cases, as named float arrays, so that two JVMs
 * running different vector widths can be compared bit for bit. {@link VectorMath} makes every output lane
 * accumulate its terms in one fixed order whatever the lane count, so the bits do not depend on the
 * width; and the Vector API's Java fallback, which runs a species wider than the JVM's registers, computes
 * each lane as the compiled code does (IEEE float and double operations, exact {@code fma}). So a width
 * this machine cannot back with registers is checked by comparing it with one it can.
 *
 * <p>{@link #main} is the child JVM's entry: it writes this JVM's results to a file.
 */
final class WidthRun {
    /** Random cases per cell type on top of each type's allocation workload. */
    static final int RANDOM_PER_TYPE = 6;

    private WidthRun() {}

    /** The allocation test's workload for {@code type}: projection, lengths, reverse, every input and output. */
    static KernelCase workload(Recurrence type) {
        return new KernelCase(type, 33, 40, type == Recurrence.LSTM ? 20 : 0, true, 12, 3, new int[] {12, 5, 9}, true,
                false, true, true, true, 1, "normal", 5);
    }

    /** Every cell type's workload and {@link #RANDOM_PER_TYPE} random cases of a fixed seed. */
    static List<KernelCase> cases() {
        List<KernelCase> cases = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(20261207);
        for (Recurrence type : Recurrence.values()) {
            cases.add(workload(type));
            for (int i = 0; i < RANDOM_PER_TYPE; i++) {
                cases.add(KernelCase.random(type, r));
            }
        }
        return cases;
    }

    /** A named result array of one case. */
    record Named(String name, float[] values) {}

    /** Every array {@code vector} produces for {@link #cases()}, in a fixed order. */
    static List<Named> results(Kernels vector) {
        List<Named> all = new ArrayList<>();
        List<KernelCase> cases = cases();
        for (int i = 0; i < cases.size(); i++) {
            KernelCase c = cases.get(i);
            KernelCase.Result r = c.run(vector);
            String at = "case " + i + " (" + c.describe() + "): ";
            add(all, at + "output", r.out);
            add(all, at + "h_n", r.h);
            add(all, at + "c_n", r.c);
            add(all, at + "inference output", r.inferenceOut);
            add(all, at + "inference h_n", r.inferenceH);
            add(all, at + "inference c_n", r.inferenceC);
            add(all, at + "dh0", r.dh);
            add(all, at + "dc0", r.dc);
            add(all, at + "dx", r.dx);
            DirectionWeights g = r.grads;
            add(all, at + "dW_ih", g.weightIh());
            add(all, at + "dW_hh", g.weightHh());
            add(all, at + "db_ih", g.biasIh());
            add(all, at + "db_hh", g.biasHh());
            add(all, at + "dW_hr", g.weightHr());
        }
        return all;
    }

    private static void add(List<Named> all, String name, float[] values) {
        if (values != null) {
            all.add(new Named(name, values));
        }
    }

    /**
     * Runs {@link #results} in a fresh JVM whose vector backend uses {@code bits}-bit vectors, and returns
     * them with that JVM's probe line. The child gets this JVM's class path and nothing of its JIT state.
     */
    static ChildRun inChild(int bits) throws IOException, InterruptedException {
        return inChild(bits, VectorMath.FEW_REGISTERS);
    }

    /** A child at {@code bits} whose register blocking is the one for few ({@code true}) or many registers. */
    static ChildRun inChild(int bits, boolean fewRegisters) throws IOException, InterruptedException {
        Path file = Files.createTempFile("rnnkit-width-" + bits + "-", ".bin");
        try {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Process child = new ProcessBuilder(java.toString(), "-Xmx512m", "--add-modules", "jdk.incubator.vector",
                    "-D" + VectorProbe.BIT_SIZE_PROPERTY + "=" + bits,
                    "-D" + VectorMath.FEW_REGISTERS_PROPERTY + "=" + fewRegisters, "-cp", System.getProperty("java.class.path"),
                    WidthRun.class.getName(), file.toString()).redirectErrorStream(true).start();
            child.getOutputStream().close();
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the " + bits + "-bit child finished");
            assertEquals(0, child.exitValue(), "the " + bits + "-bit child failed:\n" + out);
            List<Named> results = new ArrayList<>();
            try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
                int n = in.readInt();
                for (int i = 0; i < n; i++) {
                    String name = in.readUTF();
                    float[] v = new float[in.readInt()];
                    for (int j = 0; j < v.length; j++) {
                        v[j] = Float.intBitsToFloat(in.readInt());
                    }
                    results.add(new Named(name, v));
                }
            }
            String probe = out.lines().filter(l -> l.startsWith("probe: ")).findFirst().orElse("no probe line:\n" + out);
            return new ChildRun(probe.substring(probe.indexOf(' ') + 1), results);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** What a child JVM reported: its probe ({@code available: ...} or {@code degraded: ...}) and results. */
    record ChildRun(String probe, List<Named> results) {}

    /** Fails with the first element whose bits differ, naming the case, the array and both values. */
    static void assertSameBits(List<Named> expected, String expectedWhat, List<Named> actual, String actualWhat) {
        assertEquals(expected.size(), actual.size(), "result arrays");
        for (int i = 0; i < expected.size(); i++) {
            Named e = expected.get(i), a = actual.get(i);
            assertEquals(e.name(), a.name(), "result " + i);
            assertEquals(e.values().length, a.values().length, e.name() + ": length");
            for (int j = 0; j < e.values().length; j++) {
                float x = e.values()[j], y = a.values()[j];
                if (Float.floatToRawIntBits(x) != Float.floatToRawIntBits(y)) {
                    fail(e.name() + "[" + j + "]: " + expectedWhat + " " + x + " (0x"
                            + Integer.toHexString(Float.floatToRawIntBits(x)) + "), " + actualWhat + " " + y + " (0x"
                            + Integer.toHexString(Float.floatToRawIntBits(y)) + ")");
                }
            }
        }
    }

    /** Child JVM: {@code WidthRun FILE} writes this JVM's probe to stdout and its results to FILE. */
    public static void main(String[] args) throws IOException {
        VectorBackendProvider provider = new VectorBackendProvider();
        System.out.println("probe: " + provider.probe());
        List<Named> results = results(provider.create());
        try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(
                Files.newOutputStream(Path.of(args[0]))))) {
            out.writeInt(results.size());
            for (Named r : results) {
                out.writeUTF(r.name());
                out.writeInt(r.values().length);
                for (float v : r.values()) {
                    out.writeInt(Float.floatToRawIntBits(v));
                }
            }
        }
    }
}

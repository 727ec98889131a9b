package org.rnnkit.bench.paired;

import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.infra.Blackhole;
import org.rnnkit.bench.Contender;
import org.rnnkit.bench.Scenario;
import org.rnnkit.bench.layer.Rnnkit;
import org.rnnkit.bench.peer.LibTorch;
import org.rnnkit.bench.peer.OnnxFiles;
import org.rnnkit.bench.peer.Ort;

/**
 * Several contenders run in turn inside one benchmark invocation, each call timed on its own. The VM
 * this project measures on has slow phases minutes long; separate JMH trials of two contenders land in
 * different phases, and a ratio near 1 then flips between runs. Calls that alternate share every phase,
 * so their ratio does not depend on when the run happened.
 *
 * <p>Round r runs the contenders in the r-th of all their orders (permutations, in turn): over a whole
 * cycle each contender runs in every position and after every other contender equally often, so none
 * always inherits the caches another leaves behind. Sub-microsecond calls run in blocks of {@link #callsPerBlock} so the two {@code nanoTime} reads
 * stay a negligible part of a block.
 *
 * <p>Thread safety: not thread-safe; one per benchmark trial.
 */
final class Alternation implements AutoCloseable {
    /** Most contenders one alternation holds: the number of counters in {@link Times}. */
    static final int MAX = 6;

    private final Contender[] contenders;
    private final int callsPerBlock;
    private final int[][] orders;
    private int round;

    private Alternation(Contender[] contenders, int callsPerBlock) {
        this.contenders = contenders;
        this.callsPerBlock = callsPerBlock;
        List<int[]> all = new ArrayList<>();
        permutations(new int[contenders.length], 0, new boolean[contenders.length], all);
        this.orders = all.toArray(int[][]::new);
    }

    /** Every order of 0..n-1, lexicographically. */
    private static void permutations(int[] prefix, int filled, boolean[] used, List<int[]> out) {
        if (filled == prefix.length) {
            out.add(prefix.clone());
            return;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (!used[i]) {
                used[i] = true;
                prefix[filled] = i;
                permutations(prefix, filled + 1, used, out);
                used[i] = false;
            }
        }
    }

    /**
     * Contenders by name, joined by {@code +} (JMH splits parameter values at commas), in the order given:
     * <ul>
     *   <li>{@code libtorch[:T]}, {@code ort[:T]}: the peers, with T intra-op threads (default 1);
     *   <li>{@code NAME[:T]}: rnnkit backend NAME of this build ({@code native}, {@code vector},
     *       {@code scalar}), allowed T threads per call;
     *   <li>{@code file:NAME[:T]}, {@code built:NAME[:T]}, {@code ortfile[:T]}: the scenario's ONNX file as
     *       PyTorch exported it ({@link OnnxFiles}: S2, S4, S8), run by rnnkit backend NAME on the layer it
     *       imports, by NAME on a layer built in rnnkit from the same weights, and by ONNX Runtime;
     *   <li>{@code before:NAME[:T]}: the same backend of an older build of rnnkit, loaded in this JVM from
     *       the directory the system property {@code rnnkit.bench.baseline} names ({@link Baseline}); e.g.
     *       {@code native+before:native} compares a change with the code before it, call by call.
     * </ul>
     * {@code train} selects training steps (LibTorch is the only training peer).
     */
    static Alternation of(String scenario, String names, boolean train) throws Exception {
        String[] parts = names.split("\\+");
        if (parts.length < 2 || parts.length > MAX) {
            throw new IllegalArgumentException("contenders: expected 2 to " + MAX + " names, got '" + names + "'");
        }
        List<Contender> made = new ArrayList<>();
        try {
            for (String name : parts) {
                made.add(contender(scenario, name, train));
            }
        } catch (Exception | Error e) {
            for (Contender c : made) {
                c.close();
            }
            throw e;
        }
        // below a microsecond per call (S0), a block of calls per reading; one call per reading otherwise
        int block = Scenario.valueOf(scenario).forwardFlops() < 1e6 ? 256 : 1;
        return new Alternation(made.toArray(Contender[]::new), block);
    }

    /** One contender of {@link #of}. */
    private static Contender contender(String scenario, String name, boolean train) throws Exception {
        if (name.startsWith(Baseline.PREFIX)) {
            return Baseline.contender(scenario, name.substring(Baseline.PREFIX.length()), train);
        }
        if (name.startsWith("file:") || name.startsWith("built:")) {
            if (train) {
                throw new IllegalArgumentException("contenders: " + name + " runs forward passes only");
            }
            String backend = name.substring(name.indexOf(':') + 1);
            return name.startsWith("file:") ? OnnxFiles.rnnkit(scenario, backend) : OnnxFiles.built(scenario, backend);
        }
        int colon = name.indexOf(':');
        String base = colon < 0 ? name : name.substring(0, colon);
        int threads;
        try {
            threads = colon < 0 ? 1 : Integer.parseInt(name.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("contenders: expected NAME or NAME:THREADS, got '" + name + "'");
        }
        return switch (base) {
            case "libtorch" -> train ? LibTorch.training(scenario, threads) : LibTorch.forward(scenario, threads);
            case "ort" -> {
                if (train) {
                    throw new IllegalArgumentException("contenders: ONNX Runtime has no training step");
                }
                yield Ort.forward(scenario, threads);
            }
            case "ortfile" -> {
                if (train) {
                    throw new IllegalArgumentException("contenders: ONNX Runtime has no training step");
                }
                yield OnnxFiles.ort(scenario, threads);
            }
            default -> train ? Rnnkit.training(scenario, name) : Rnnkit.forward(scenario, name);
        };
    }

    /** One round: every contender's block of calls once, each block's time added to its counter. */
    void round(Times times, Blackhole bh) throws Exception {
        int[] order = orders[round++ % orders.length];
        for (int i : order) {
            Contender c = contenders[i];
            long t0 = System.nanoTime();
            for (int j = 0; j < callsPerBlock; j++) {
                bh.consume(c.call());
            }
            times.add(i, System.nanoTime() - t0);
        }
        times.calls += callsPerBlock;
    }

    @Override
    public void close() throws Exception {
        for (Contender c : contenders) {
            c.close();
        }
    }
}

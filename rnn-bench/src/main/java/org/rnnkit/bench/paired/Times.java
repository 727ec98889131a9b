package org.rnnkit.bench.paired;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Per-contender time of an alternation, reported by JMH as secondary results: {@code ns0} ... {@code ns5}
 * are the nanoseconds spent in the calls of the first ... sixth contender named in the benchmark's
 * {@code contenders} parameter, {@code calls} the calls each made. JMH sums these counters over the
 * measurement iterations (warm-up excluded), so a contender's time per call is {@code nsI / calls}.
 *
 * <p>Thread safety: one per benchmark thread (JMH's {@code Scope.Thread}).
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.EVENTS)
public class Times {
    public long ns0, ns1, ns2, ns3, ns4, ns5;
    public long calls;

    @Setup(Level.Iteration)
    public void reset() {
        ns0 = ns1 = ns2 = ns3 = ns4 = ns5 = 0;
        calls = 0;
    }

    void add(int contender, long ns) {
        switch (contender) {
            case 0 -> ns0 += ns;
            case 1 -> ns1 += ns;
            case 2 -> ns2 += ns;
            case 3 -> ns3 += ns;
            case 4 -> ns4 += ns;
            case 5 -> ns5 += ns;
            default -> throw new IllegalArgumentException("contender: expected 0 to 5, got " + contender);
        }
    }
}

package org.rnnkit.tensor;

import java.util.Locale;

/**
 * The most memory rnnkit allocates for one thing: a call's results, workspace and tape, a model's
 * parameters (with their gradients and optimizer state when training), a file's tensors, a corpus.
 * Each is sized and checked against the budget <em>before</em> anything is allocated, so that a
 * hostile file or an oversized input gets a {@link MemoryBudgetException} naming what needed how much,
 * not an {@link OutOfMemoryError} half-way through.
 *
 * <p>The budget is {@code -Drnnkit.memory.budget=SIZE}: bytes, or with a suffix {@code k}, {@code m},
 * {@code g}, {@code t} (powers of 1024), or a percentage of the JVM's maximum heap ({@code 75%}). The
 * default is {@value #DEFAULT}: half the heap, so that one call's needs plus what the caller already holds
 * (inputs, the model, a previous result) still fit. It is not a running total: two calls may each use
 * the budget. Raise it with the property and the heap with {@code -Xmx}.
 *
 * <p>Thread safety: stateless apart from a cache of the parsed property (a racy read sees an old or a
 * new value, each complete); safe from any thread.
 */
public final class MemoryBudget {
    /** The system property that sets the budget. */
    public static final String PROPERTY = "rnnkit.memory.budget";
    /** The budget when the property is not set. */
    public static final String DEFAULT = "50%";

    private record Parsed(String raw, long bytes) {}

    private static volatile Parsed cache = new Parsed(null, -1);

    private MemoryBudget() {}

    /**
     * The budget in bytes.
     *
     * @throws IllegalArgumentException if {@value #PROPERTY} is not a size
     */
    public static long bytes() {
        String raw = System.getProperty(PROPERTY);
        Parsed p = cache;
        if (p.raw != raw || p.bytes < 0) { // identity: the common case (property unchanged) parses nothing
            cache = p = new Parsed(raw, parse(raw == null ? DEFAULT : raw, Runtime.getRuntime().maxMemory()));
        }
        return p.bytes;
    }

    /**
     * Parses a size: {@code 123456}, {@code 512m}, {@code 4g}, {@code 1.5g}, {@code 75%} (of {@code maxHeap}).
     *
     * @throws IllegalArgumentException naming {@value #PROPERTY}, the expected form and the value
     */
    static long parse(String value, long maxHeap) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        try {
            if (v.endsWith("%")) {
                double pct = Double.parseDouble(v.substring(0, v.length() - 1));
                if (pct > 0 && pct <= 100) {
                    return (long) (maxHeap * (pct / 100));
                }
            } else {
                long unit = 1;
                int suffix = "kmgt".indexOf(v.isEmpty() ? ' ' : v.charAt(v.length() - 1));
                if (suffix >= 0) {
                    unit = 1L << (10 * (suffix + 1));
                    v = v.substring(0, v.length() - 1);
                }
                double n = Double.parseDouble(v);
                if (n > 0 && n * unit < 0x1p62) {
                    return (long) (n * unit);
                }
            }
        } catch (NumberFormatException e) {
            // reported below with the expected form
        }
        throw new IllegalArgumentException(PROPERTY + ": expected a size such as 2147483648, 512m, 4g or 75% (of the"
                + " maximum heap), got '" + value + "'");
    }

    /**
     * Checks that {@code bytes} fit the budget.
     *
     * @param what what needs the memory, for the message, e.g. {@code "input (1, 4194304, 1): the call"}
     * @throws MemoryBudgetException if they do not
     */
    public static void require(long bytes, String what) {
        if (bytes > bytes()) {
            throw exceeded(bytes, what);
        }
    }

    /**
     * Whether {@code bytes} exceed the budget; a count in double, as callers compute products of
     * user-given sizes that may overflow a long (a threshold needs no exact count). Allocates nothing.
     */
    public static boolean exceeds(double bytes) {
        return bytes > bytes();
    }

    /** {@link #exceeded(long, String)} for a byte count in double, saturating at {@code Long.MAX_VALUE}. */
    public static MemoryBudgetException exceeded(double bytes, String what) {
        return exceeded(bytes >= 0x1p63 ? Long.MAX_VALUE : (long) bytes, what);
    }

    /** The exception {@link #require} throws, for callers that build {@code what} only when needed. */
    public static MemoryBudgetException exceeded(long bytes, String what) {
        long budget = bytes(), heap = Runtime.getRuntime().maxMemory();
        String source = System.getProperty(PROPERTY) == null ? "the default " + DEFAULT + " of the " + size(heap)
                + " maximum heap" : "-D" + PROPERTY + "=" + System.getProperty(PROPERTY).trim();
        return new MemoryBudgetException(what + ": " + size(bytes) + " needed, more than the memory budget of "
                + size(budget) + " (" + source + "); raise it with -D" + PROPERTY + "=SIZE and the heap with -Xmx, or"
                + " make the input or model smaller", bytes, budget);
    }

    /**
     * Bytes of {@code count} elements of {@code elementBytes} each, saturating at {@code Long.MAX_VALUE}
     * (a size that overflows is certainly over any budget).
     */
    public static long bytesOf(long count, int elementBytes) {
        return count > Long.MAX_VALUE / elementBytes ? Long.MAX_VALUE : count * elementBytes;
    }

    /** A byte count for people: {@code 512 bytes}, {@code 3.2 MB}, {@code 4.0 GB} (powers of 1024). */
    public static String size(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "more than 8 EB";
        }
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KB", "MB", "GB", "TB", "PB", "EB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}

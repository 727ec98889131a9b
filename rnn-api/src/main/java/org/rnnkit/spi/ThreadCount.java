package org.rnnkit.spi;

/**
 * Reads a backend's thread-count property (such as {@code rnnkit.native.threads}) for its provider, so that
 * every backend accepts the same values and reports a bad one in the same words.
 *
 * <p>Thread safety: stateless.
 */
public final class ThreadCount {
    /**
     * The most threads a property may ask for: far above any core count rnnkit runs on, so that a typo such
     * as 100000, or a value meant for another setting, is reported rather than making that many threads.
     */
    public static final int MAX = 1024;

    private ThreadCount() {}

    /**
     * The thread count {@code value} asks for: 1 when it is null or blank, else a decimal integer from 1 to
     * {@value #MAX} (spaces around it allowed).
     *
     * @param property the property's name, for the message
     * @throws IllegalArgumentException for anything else, e.g. {@code rnnkit.native.threads: expected an
     *     integer from 1 to 1024, got 'abc'}
     */
    public static int parse(String property, String value) {
        if (value == null || value.isBlank()) {
            return 1;
        }
        String v = value.trim();
        // ASCII digits only: Integer.parseInt also takes "+4" and other scripts' digits, and the
        // Integer.getInteger this replaces read "010" as octal 8 and "0x10" as 16
        if (v.matches("[0-9]{1,10}")) {
            long n = Long.parseLong(v);
            if (n >= 1 && n <= MAX) {
                return (int) n;
            }
        }
        throw new IllegalArgumentException(property + ": expected an integer from 1 to " + MAX + ", got '" + value + "'");
    }
}

package org.rnnkit.io;

/**
 * Text from files and users made safe to print: control characters (a name in a model file may hold
 * terminal escape sequences) escaped as {@code \\uXXXX}, and length bounded, so that a message stays one
 * readable line whatever a file contains.
 *
 * <p>Thread safety: stateless.
 */
public final class Untrusted {
    private Untrusted() {}

    /** A name in single quotes, control characters, quotes and backslashes escaped, cut after 200 characters. */
    public static String quote(String name) {
        StringBuilder sb = new StringBuilder("'");
        escape(name, 200, true, sb);
        return sb.append('\'').toString();
    }

    /**
     * {@code text} as one printable line: control characters (line breaks included) escaped, at most
     * {@code maxChars} characters of it kept, with how many were cut.
     */
    public static String line(String text, int maxChars) {
        StringBuilder sb = new StringBuilder();
        escape(text, maxChars, false, sb);
        return sb.toString();
    }

    private static void escape(String s, int maxChars, boolean quoted, StringBuilder sb) {
        int limit = Math.min(s.length(), maxChars);
        for (int i = 0; i < limit; i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || (c >= 0x7f && c < 0xa0) || c == '\u2028' || c == '\u2029';
            if (control || quoted && (c == '\'' || c == '\\')) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        if (limit < s.length()) {
            sb.append(quoted ? "..." : String.format("... (%,d more characters)", s.length() - limit));
        }
    }
}

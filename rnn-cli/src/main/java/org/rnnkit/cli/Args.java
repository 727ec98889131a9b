package org.rnnkit.cli;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.rnnkit.io.Untrusted;

/** A small option parser: {@code --name value}, {@code --name=value}, {@code --flag}, and positional arguments. */
final class Args {
    final Map<String, String> options = new LinkedHashMap<>();
    final List<String> positional = new ArrayList<>();
    boolean help;

    /**
     * @param valued options that take a value
     * @param flags options that take none
     * @throws UsageException for an unknown option or a missing value
     */
    static Args parse(String[] argv, int from, Set<String> valued, Set<String> flags) {
        Args a = new Args();
        for (int i = from; i < argv.length; i++) {
            String s = argv[i];
            if (s.equals("-h") || s.equals("--help")) {
                a.help = true;
            } else if (s.startsWith("--")) {
                String name = s, value = null;
                int eq = s.indexOf('=');
                if (eq > 0) {
                    name = s.substring(0, eq);
                    value = s.substring(eq + 1);
                }
                if (flags.contains(name) && value == null) {
                    a.options.put(name, "true");
                } else if (valued.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= argv.length) {
                            throw new UsageException(name + ": expected a value");
                        }
                        value = argv[++i];
                    }
                    a.options.put(name, value);
                } else {
                    throw new UsageException("unknown option " + Untrusted.quote(name));
                }
            } else {
                a.positional.add(s);
            }
        }
        return a;
    }

    String get(String name) {
        return options.get(name);
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    String required(String name) {
        String v = options.get(name);
        if (v == null) {
            throw new UsageException("missing required option " + name);
        }
        return v;
    }

    /** Refuses positional arguments (no command takes any). */
    void noPositional() {
        if (!positional.isEmpty()) {
            throw new UsageException("unexpected argument " + Untrusted.quote(positional.get(0)));
        }
    }

    /** An integer option in {@code [min, max]}, or {@code dflt} when absent. */
    int integer(String name, int dflt, int min, int max) {
        return (int) longInteger(name, dflt, min, max);
    }

    /** A long option in {@code [min, max]}, or {@code dflt} when absent. */
    long longInteger(String name, long dflt, long min, long max) {
        String v = options.get(name);
        if (v == null) {
            return dflt;
        }
        long n;
        try {
            n = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new BadValueException(name + ": expected an integer, got " + Untrusted.quote(v));
        }
        if (n < min || n > max) {
            throw new BadValueException(name + ": expected an integer from " + min + " to " + max + ", got " + n);
        }
        return n;
    }

    /**
     * A finite number option in {@code [min, max]} ({@code minExclusive}: above {@code min}), or {@code dflt}
     * when absent. NaN and infinities are refused: they would train a model into NaN.
     */
    double number(String name, double dflt, double min, boolean minExclusive, double max) {
        String v = options.get(name);
        if (v == null) {
            return dflt;
        }
        double x;
        try {
            x = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new BadValueException(name + ": expected a number, got " + Untrusted.quote(v));
        }
        if (!Double.isFinite(x) || (minExclusive ? x <= min : x < min) || x > max) {
            throw new BadValueException(name + ": expected a finite number " + (minExclusive ? "above " : "from ") + min
                    + (max == Double.MAX_VALUE ? "" : " to " + max) + ", got " + v.trim());
        }
        return x;
    }

    /** A path option that must not be empty, or null when absent. */
    Path path(String name) {
        String v = options.get(name);
        if (v == null) {
            return null;
        }
        if (v.isEmpty()) {
            throw new BadValueException(name + ": expected a path, got an empty string");
        }
        try {
            return Path.of(v);
        } catch (InvalidPathException e) {
            throw new BadValueException(name + ": " + Untrusted.quote(v) + " is not a valid path here (" + e.getReason()
                    + "; file names are decoded as " + System.getProperty("sun.jnu.encoding")
                    + ": run in a UTF-8 locale, e.g. LC_ALL=C.UTF-8)");
        }
    }

    /** A file to read: it exists, is a regular file (not a pipe or device, which may block or never end), and is readable. */
    Path inputFile(String name, String dflt) {
        Path p = options.containsKey(name) ? path(name) : dflt == null ? null : Path.of(dflt);
        return p == null ? null : checkedInput(name, p);
    }

    /** {@code p}, given as option {@code name}, checked as {@link #inputFile(String, String)} does. */
    static Path checkedInput(String name, Path p) {
        String what = name + ": " + Untrusted.quote(p.toString());
        if (!Files.exists(p)) {
            throw new BadValueException(what + ": no such file" + (Files.isSymbolicLink(p) ? " (a broken symbolic link)" : ""));
        }
        if (Files.isDirectory(p)) {
            throw new BadValueException(what + " is a directory; expected a file");
        }
        if (!Files.isRegularFile(p)) {
            throw new BadValueException(what + " is not a regular file (a pipe, socket or device?); expected a file");
        }
        if (!Files.isReadable(p)) {
            throw new BadValueException(what + ": permission denied (not readable)");
        }
        return p;
    }

    /** A folder to write into, created (with its parents) if missing, and checked writable. */
    Path outputDirectory(String name) throws java.io.IOException {
        Path p = path(name);
        if (p == null) {
            throw new UsageException("missing required option " + name);
        }
        String what = name + ": " + Untrusted.quote(p.toString());
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new BadValueException(what + " exists and is not a directory; expected a directory");
        }
        try {
            Files.createDirectories(p);
        } catch (java.nio.file.FileSystemException e) {
            throw new BadValueException(what + ": cannot create the directory (" + Main.reason(e) + ")");
        }
        if (!Files.isWritable(p)) {
            throw new BadValueException(what + ": permission denied (the directory is not writable)");
        }
        return p;
    }

    /** A file to write: not a directory, in an existing writable folder; checked before any work is done. */
    Path outputFile(String name, String dflt) {
        return checkedOutput(name, options.containsKey(name) ? path(name) : Path.of(dflt));
    }

    /** {@code p}, given as {@code name}, checked as {@link #outputFile(String, String)} does. */
    static Path checkedOutput(String name, Path p) {
        String what = name + ": " + Untrusted.quote(p.toString());
        if (Files.isDirectory(p)) {
            throw new BadValueException(what + " is a directory; expected a file name");
        }
        if (Files.exists(p) && !Files.isRegularFile(p)) {
            throw new BadValueException(what + " is not a regular file (a pipe, socket or device?)");
        }
        Path dir = p.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            throw new BadValueException(what + ": the directory " + Untrusted.quote(dir.toString()) + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new BadValueException(what + ": permission denied (the directory " + Untrusted.quote(dir.toString())
                    + " is not writable)");
        }
        return p;
    }

    /** A bad option value or path: one line naming the option, exit status 2 (no usage: the syntax was right). */
    static final class BadValueException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        BadValueException(String message) {
            super(message);
        }
    }

    /** Thrown for a usage error: printed with the command's usage, exit status 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}

package org.rnnkit.nativebackend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The CPU's feature flags as Linux reports them ({@code /proc/cpuinfo}), for tests whose expected outcome
 * depends on the CPU: an account independent of the C code's own CPUID checks.
 */
final class CpuFlags {
    private static final Set<String> FLAGS = read();

    private CpuFlags() {}

    /** Whether the CPU has every one of {@code flags}. */
    static boolean has(String... flags) {
        return FLAGS.containsAll(Arrays.asList(flags));
    }

    private static Set<String> read() {
        try {
            String line = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("flags"))
                    .findFirst().orElseThrow(() -> new IllegalStateException("/proc/cpuinfo has no flags line"));
            return Arrays.stream(line.substring(line.indexOf(':') + 1).trim().split("\\s+")).collect(Collectors.toSet());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package org.rnnkit.cli;

import java.io.PrintStream;
import java.util.Set;
import org.rnnkit.backend.Backends;
import org.rnnkit.backend.Backend;

/** {@code rnnkit backends}: every discovered backend with its probe result, and what auto selects. */
final class BackendsCommand implements Main.Command {
    @Override
    public String usage() {
        return """
                usage: rnnkit [-Drnnkit.backend=SPEC] backends

                Lists every backend found on the class path (ServiceLoader), usable or not, with the reason
                its probe gave, highest priority first; then the backend 'auto' picks, and what the
                rnnkit.backend property selects when it is set. Usable is 'yes', 'no', or 'named' for a
                backend that runs correctly here but far below its speed (e.g. vector instructions wider
                than the JVM's, emulated): it runs when named, and auto never picks it. Exit status 2 when
                that property names an unknown or unusable backend.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        Args a = Args.parse(argv, 0, Set.of(), Set.of());
        if (a.help) {
            out.print(usage());
            return 0;
        }
        a.noPositional();
        var found = Backends.discovered();
        int w = Math.max(7, found.stream().mapToInt(d -> d.name().length()).max().orElse(0));
        out.printf("%-" + w + "s  %8s  %-6s  %s%n", "backend", "priority", "usable", "details / reason");
        for (var d : found) {
            out.printf("%-" + w + "s  %8d  %-6s  %s%n", d.name(), d.priority(),
                    d.autoSelectable() ? "yes" : d.usable() ? "named" : "no", d.detail());
        }
        if (found.stream().anyMatch(d -> d.usable() && !d.autoSelectable())) {
            out.println("(named: correct but degraded here; runs only when named, e.g. -D" + Backends.PROPERTY
                    + "=NAME, and auto passes it over)");
        }
        out.println();
        out.println("auto picks: " + Backends.autoChoice().orElse("nothing (no usable backend)"));
        String spec = System.getProperty(Backends.PROPERTY);
        if (spec != null) {
            try {
                Backend b = Backends.get();
                out.println(Backends.PROPERTY + "=" + spec + " selects: " + b.name() + " (" + b.description() + ")");
            } catch (IllegalArgumentException | IllegalStateException e) {
                err.println("rnnkit backends: " + e.getMessage());
                return 2;
            }
        }
        return Backends.autoChoice().isPresent() ? 0 : 2;
    }
}

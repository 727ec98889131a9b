package org.rnnkit.cli;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * The {@code rnnkit} command. Exit status: 0 success, 1 a check failed, 2 usage or environment error.
 */
public final class Main {
    static final String USAGE = """
            usage: rnnkit [-Dproperty=value ...] COMMAND [OPTIONS]

            Commands:
              backends   list every discovered backend, usable or not, and which one auto picks
              verify     run golden cases (PyTorch reference results) on one or all backends
              run        run a model file on .npy input and write the results as .npy
              train      train a character-level LSTM language model (truncated BPTT, Adam, clipping)
              sample     generate text with a model written by 'train'

            'rnnkit COMMAND --help' describes each command.
            Properties: -Drnnkit.backend=auto|NAME|NAME,NAME... selects the backend (default auto).
            """;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        Command cmd = switch (args[0]) {
            case "backends" -> new BackendsCommand();
            case "verify" -> new VerifyCommand();
            case "run" -> new RunCommand();
            case "train" -> new TrainCommand();
            case "sample" -> new SampleCommand();
            default -> null;
        };
        if (cmd == null) {
            err.println("rnnkit: unknown command '" + args[0] + "'");
            err.print(USAGE);
            return 2;
        }
        try {
            return cmd.run(rest, out, err);
        } catch (Args.UsageException e) {
            err.println("rnnkit " + args[0] + ": " + e.getMessage());
            err.print(cmd.usage());
            return 2;
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("rnnkit " + args[0] + ": " + e.getMessage());
            return 2;
        } catch (java.io.IOException e) {
            err.println("rnnkit " + args[0] + ": " + e.getMessage());
            return 2;
        }
    }

    /** One sub-command. */
    interface Command {
        String usage();

        int run(String[] args, PrintStream out, PrintStream err) throws java.io.IOException;
    }
}

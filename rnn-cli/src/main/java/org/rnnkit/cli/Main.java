package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Arrays;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.Untrusted;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.MemoryBudgetException;

/**
 * The {@code rnnkit} command.
 *
 * <p>Exit status: {@value #OK} success; {@value #CHECK_FAILED} a check failed (a golden case did not match,
 * training diverged); {@value #BAD_INPUT} the command line or an input is wrong (an unknown option, a bad
 * value, a missing, unreadable, special or malformed file, an output path that cannot be written);
 * {@value #NO_RESOURCES} the machine refused (over the memory budget, out of memory, a full disk or another
 * I/O failure while writing); {@value #INTERNAL_ERROR} a fault in rnnkit itself. Every failure is one line
 * on standard error ({@value #MAX_MESSAGE} characters at most, control characters escaped), never a stack
 * trace ({@code -Drnnkit.debug=true} adds it).
 */
public final class Main {
    static final int OK = 0, CHECK_FAILED = 1, BAD_INPUT = 2, NO_RESOURCES = 3, INTERNAL_ERROR = 4;
    static final int MAX_MESSAGE = 2000;

    static final String USAGE = """
            usage: rnnkit [-Dproperty=value ...] COMMAND [OPTIONS]

            Commands:
              backends   list every discovered backend, usable or not, and which one auto picks
              verify     run golden cases (PyTorch reference results) and ONNX test cases on one or all backends
              run        run a model file (safetensors or ONNX) on .npy input and write the results as .npy
              convert    convert a layer between rnnkit's safetensors and ONNX
              train      train a character-level LSTM language model (truncated BPTT, Adam, clipping),
                         or with --task seq2seq an encoder-decoder that writes dates as ISO 8601
              sample     generate text with a model written by 'train'
              decode     decode texts greedily and by beam search with a model of 'train --task seq2seq'

            'rnnkit COMMAND --help' describes each command.
            Properties: -Drnnkit.backend=auto|NAME|NAME,NAME... selects the backend (default auto);
            -Drnnkit.memory.budget=SIZE (e.g. 4g or 75%; default 50% of the heap) caps what one model, call
            or file may allocate.
            Exit status: 0 success, 1 a check failed, 2 a bad command line or input, 3 over the memory budget,
            out of memory or disk, or another I/O failure, 4 an internal error.
            """;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? BAD_INPUT : OK;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        Command cmd = switch (args[0]) {
            case "backends" -> new BackendsCommand();
            case "verify" -> new VerifyCommand();
            case "run" -> new RunCommand();
            case "train" -> new TrainCommand();
            case "sample" -> new SampleCommand();
            case "decode" -> new DecodeCommand();
            case "convert" -> new ConvertCommand();
            default -> null;
        };
        if (cmd == null) {
            err.println("rnnkit: unknown command " + Untrusted.quote(args[0]));
            err.print(USAGE);
            return BAD_INPUT;
        }
        try {
            return cmd.run(rest, out, err);
        } catch (Args.UsageException e) {
            fail(err, args[0], e.getMessage(), null);
            err.print(cmd.usage());
            return BAD_INPUT;
        } catch (Throwable t) {
            int status = status(t);
            fail(err, args[0], message(t), Boolean.getBoolean("rnnkit.debug") ? t : null);
            return status;
        }
    }

    /** The exit status for a failure. */
    static int status(Throwable t) {
        if (t instanceof MemoryBudgetException || t instanceof OutOfMemoryError) {
            return NO_RESOURCES;
        }
        if (t instanceof IllegalArgumentException || t instanceof IllegalStateException
                || t instanceof UnsupportedOperationException // a backend that does not run this model
                || t instanceof ModelFormatException || t instanceof FileSystemException
                || t instanceof CharacterCodingException || t instanceof InvalidPathException) {
            return BAD_INPUT;
        }
        if (t instanceof IOException) {
            return NO_RESOURCES; // a full disk, a quota, an I/O error
        }
        return INTERNAL_ERROR;
    }

    /** What went wrong, in words, for a failure of any type. */
    static String message(Throwable t) {
        if (t instanceof OutOfMemoryError) {
            return "out of memory (" + t.getMessage() + "): the heap is " + MemoryBudget.size(Runtime.getRuntime().maxMemory())
                    + "; give the JVM more with -Xmx (and -D" + MemoryBudget.PROPERTY + "), or make the input smaller";
        }
        if (t instanceof FileSystemException e) {
            return Untrusted.quote(e.getFile()) + (e.getOtherFile() == null ? "" : " -> " + Untrusted.quote(e.getOtherFile()))
                    + ": " + reason(e);
        }
        if (t instanceof CharacterCodingException) {
            return "not valid UTF-8 text (" + t.getClass().getSimpleName() + ")";
        }
        if (t instanceof InvalidPathException e) {
            return Untrusted.quote(e.getInput()) + " is not a valid path here (" + e.getReason() + ")";
        }
        if (t instanceof IllegalArgumentException || t instanceof IllegalStateException || t instanceof IOException
                || t instanceof UnsupportedOperationException) {
            return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        }
        return "internal error: " + t + " (please report it; -Drnnkit.debug=true prints the stack trace)";
    }

    /** The reason of a file-system failure, also when the JDK gives none (it then names only the path). */
    static String reason(FileSystemException e) {
        if (e.getReason() != null) {
            return e.getReason();
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        }
        return e.getClass().getSimpleName();
    }

    private static void fail(PrintStream err, String command, String message, Throwable trace) {
        err.println("rnnkit " + Untrusted.line(command, 40) + ": " + Untrusted.line(message, MAX_MESSAGE));
        if (trace != null) {
            trace.printStackTrace(err);
        }
    }

    /** One sub-command. */
    interface Command {
        String usage();

        int run(String[] args, PrintStream out, PrintStream err) throws java.io.IOException;
    }
}

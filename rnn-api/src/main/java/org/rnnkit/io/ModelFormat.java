package org.rnnkit.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model file format beyond rnnkit's safetensors, plugged in through {@link java.util.ServiceLoader}: the
 * modules {@code rnn-onnx} (ONNX), {@code rnn-torch} (PyTorch's {@code torch.save}) and others provide one,
 * and {@code RecurrentLayer.load} asks each whether it recognises a file's content (never its name).
 *
 * <p>Thread safety: implementations must be stateless or safe for concurrent use.
 */
public interface ModelFormat {
    /** Option keys a format may take, for what its files cannot say ({@code RecurrentLayer.load}'s options). */
    String NONLINEARITY = "nonlinearity", BATCH_FIRST = "batch_first", PREFIX = "prefix";

    /** The format's name in messages, e.g. {@code onnx}. */
    String name();

    /**
     * Whether {@code file} is of this format, judged from its content: {@code head} holds its first bytes
     * (up to 64; fewer for a shorter file); the format may look further into the file, and must not throw
     * for a file that is not its own.
     */
    boolean recognizes(Path file, byte[] head) throws IOException;

    /**
     * Reads the file as one recurrent layer: its configuration as rnnkit's model-file metadata (the keys of
     * {@code RecurrentConfig.toMetadata}) and its parameters by PyTorch's state_dict names.
     *
     * @param options what the file cannot say, by the keys above; a format refuses an option its files
     *     say themselves, and names an option it needs and was not given
     * @throws ModelFormatException if the file is malformed or describes something rnnkit does not run
     */
    SafeTensorsFile read(Path file, Map<String, String> options) throws IOException;
}

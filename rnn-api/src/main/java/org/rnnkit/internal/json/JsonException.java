package org.rnnkit.internal.json;

/**
 * Text is not valid JSON (RFC 8259) or exceeds a limit of {@link Json}, or a parsed value does not have the
 * type a {@code Json.as*} helper asked for.
 *
 * <p>Unchecked because JSON mostly comes from strings already in memory; readers of model files catch it and
 * rethrow it as a {@link org.rnnkit.io.ModelFormatException} that names the file.
 *
 * <p>Thread safety: immutable once thrown.
 */
public final class JsonException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int offset;

    public JsonException(String message) {
        this(message, -1);
    }

    public JsonException(String message, int offset) {
        super(message);
        this.offset = offset;
    }

    /** Character offset of the error in the parsed text, or -1 when the error is not tied to a position. */
    public int offset() {
        return offset;
    }
}

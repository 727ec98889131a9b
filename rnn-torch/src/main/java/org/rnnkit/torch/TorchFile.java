package org.rnnkit.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;

/**
 * A {@code torch.save} file read without Python: the zip format (PyTorch 1.6+) or the legacy format before it,
 * holding a state_dict or a whole pickled {@code nn.LSTM}/{@code nn.GRU}/{@code nn.RNN}.
 *
 * <p>The pickle is read by a restricted unpickler that runs nothing. The globals it accepts, each modelled as
 * data: {@code collections.OrderedDict}, {@code __builtin__.set}/{@code builtins.set},
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter},
 * {@code torch.nn.parameter.Parameter}, {@code torch.nn.modules.rnn.LSTM}/{@code GRU}/{@code RNN} and the
 * storage types {@code torch.FloatStorage}, {@code DoubleStorage}, {@code HalfStorage}, {@code BFloat16Storage},
 * {@code LongStorage}, {@code IntStorage}, {@code ShortStorage}, {@code CharStorage}, {@code ByteStorage},
 * {@code BoolStorage}. Any other global (e.g. {@code posix.system}) is refused with its name. Only float32
 * tensors become values; a tensor of another type is listed in {@link #otherTensors()} by name and type.
 *
 * <p>Immutable and thread-safe once read; the tensors it returns are its own: copy before changing them.
 */
public final class TorchFile {
    /** The zip format or the legacy one. */
    public enum Format { ZIP, LEGACY }

    private static final java.math.BigInteger LEGACY_MAGIC = new java.math.BigInteger("119547037146038801333356");

    private final String source;
    private final Format format;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> otherTensors;
    private final RecurrentConfig module;

    private TorchFile(String source, Format format, Map<String, Tensor> tensors, Map<String, String> other,
            RecurrentConfig module) {
        this.source = source;
        this.format = format;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.otherTensors = Collections.unmodifiableMap(other);
        this.module = module;
    }

    /** Reads a file; its size must fit the memory budget. */
    public static TorchFile read(Path path) throws IOException {
        long size = Files.size(path);
        if (MemoryBudget.exceeds(size) || size > Integer.MAX_VALUE - 16) {
            throw new TorchFormatException(path.toString(), "file of " + MemoryBudget.size(size)
                    + " is larger than the memory budget of " + MemoryBudget.size(MemoryBudget.bytes()) + " (-D"
                    + MemoryBudget.PROPERTY + ") or 2 GB");
        }
        return read(Files.readAllBytes(path), path.toString());
    }

    /**
     * Reads a file's bytes; {@code sourceName} starts every error message.
     *
     * @throws TorchFormatException if the bytes are not a torch.save file this reader supports, or name a
     *     global outside the allow-list
     */
    public static TorchFile read(byte[] bytes, String sourceName) throws TorchFormatException {
        try {
            return TorchZip.isZip(bytes) ? readZip(bytes, sourceName) : readLegacy(bytes, sourceName);
        } catch (org.rnnkit.tensor.MemoryBudgetException e) {
            throw new TorchFormatException(sourceName, e.getMessage(), e);
        }
    }

    /** The file's name as given to {@link #read}. */
    public String source() {
        return source;
    }

    public Format format() {
        return format;
    }

    /**
     * The float32 tensors by name: the state_dict's entries (in file order), or a pickled module's parameters
     * ({@code weight_ih_l0}, ...).
     */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Tensors of types other than float32, by name, with their storage type (e.g. {@code torch.LongStorage}). */
    public Map<String, String> otherTensors() {
        return otherTensors;
    }

    /** For a pickled {@code nn.LSTM}/{@code GRU}/{@code RNN}, its configuration; empty for a state_dict. */
    public Optional<RecurrentConfig> module() {
        return Optional.ofNullable(module);
    }

    @Override
    public String toString() {
        return "TorchFile[" + source + ", " + format + ", " + (module != null ? module + ", " : "") + tensors.size()
                + " float32 tensors" + (otherTensors.isEmpty() ? "" : ", others " + otherTensors) + "]";
    }

    // ------------------------------------------------------------------------------------------------ zip

    private static TorchFile readZip(byte[] bytes, String source) throws TorchFormatException {
        TorchZip zip = new TorchZip(bytes, source);
        byte[] order = zip.read("byteorder");
        if (order != null && !new String(order, java.nio.charset.StandardCharsets.US_ASCII).equals("little")) {
            throw new TorchFormatException(source, "byteorder: expected 'little', got '"
                    + TorchZip.printable(new String(order, java.nio.charset.StandardCharsets.ISO_8859_1)) + "'");
        }
        byte[] pkl = zip.read("data.pkl");
        if (pkl == null) {
            throw new TorchFormatException(source, "expected an entry " + zip.archive() + "/data.pkl, got none");
        }
        Pickle pickle = new Pickle(pkl, 0, pkl.length, source + " " + zip.archive() + "/data.pkl");
        Object root = pickle.load();
        Map<String, float[]> storages = new LinkedHashMap<>();
        for (Pickle.StorageRef s : pickle.storages) {
            if (storages.containsKey(s.key()) || !s.type().equals("torch.FloatStorage")) {
                continue;
            }
            String path = "data/" + s.key();
            byte[] raw = zip.read(path);
            if (raw == null) {
                throw new TorchFormatException(source, "storage " + s.key() + ": expected an entry " + zip.archive() + "/"
                        + TorchZip.printable(path) + ", got none");
            }
            if (raw.length != s.numel() * 4) {
                throw new TorchFormatException(source, "storage " + s.key() + ": expected " + s.numel()
                        + " float32 values (" + s.numel() * 4 + " bytes), got " + raw.length + " bytes");
            }
            storages.put(s.key(), floats(raw, 0, s.numel()));
        }
        return build(source, Format.ZIP, root, pickle, storages);
    }

    // ------------------------------------------------------------------------------------------------ legacy

    /**
     * Pre-1.6 layout: pickles of the magic number, the protocol version (1001) and sys_info, then the object,
     * then the list of storage keys, then for each key its element count (int64, little-endian) and its raw
     * values.
     */
    private static TorchFile readLegacy(byte[] b, String source) throws TorchFormatException {
        if (b.length < 2 || (b[0] & 0xff) != 0x80) {
            throw new TorchFormatException(source, "expected a zip (PyTorch 1.6+) or a legacy torch.save file"
                    + " (a pickle), got neither");
        }
        Pickle magic = new Pickle(b, 0, b.length, source + " legacy magic");
        Object m = magic.load();
        if (!LEGACY_MAGIC.equals(m)) {
            throw new TorchFormatException(source, "legacy header: expected the magic number " + LEGACY_MAGIC + ", got "
                    + Pickle.kind(m));
        }
        Pickle version = new Pickle(b, magic.position(), b.length, source + " legacy protocol version");
        Object v = version.load();
        if (!Long.valueOf(1001).equals(v)) {
            throw new TorchFormatException(source, "legacy protocol version: expected 1001, got " + Pickle.kind(v));
        }
        Pickle sysInfo = new Pickle(b, version.position(), b.length, source + " legacy sys_info");
        if (sysInfo.load() instanceof Pickle.PyDict info && Boolean.FALSE.equals(info.get("little_endian"))) {
            throw new TorchFormatException(source, "sys_info: expected little_endian True, got False");
        }
        Pickle object = new Pickle(b, sysInfo.position(), b.length, source + " legacy object");
        Object root = object.load();
        Pickle keysPickle = new Pickle(b, object.position(), b.length, source + " legacy storage keys");
        Object keys = keysPickle.load();
        if (!(keys instanceof Pickle.PyList list)) {
            throw new TorchFormatException(source, "legacy storage keys: expected a list, got " + Pickle.kind(keys));
        }
        Map<String, Pickle.StorageRef> byKey = new LinkedHashMap<>();
        for (Pickle.StorageRef s : object.storages) {
            Pickle.StorageRef prev = byKey.putIfAbsent(s.key(), s);
            if (prev != null && (!prev.type().equals(s.type()) || prev.numel() != s.numel())) {
                throw new TorchFormatException(source, "storage " + s.key() + ": named twice with different types or"
                        + " sizes");
            }
        }
        Map<String, float[]> storages = new LinkedHashMap<>();
        long p = keysPickle.position();
        for (Object k : list) {
            if (!(k instanceof String key) || !byKey.containsKey(key)) {
                throw new TorchFormatException(source, "legacy storage keys: expected keys the object names, got "
                        + Pickle.kind(k));
            }
            Pickle.StorageRef s = byKey.get(key);
            if (p > b.length - 8L) {
                throw new TorchFormatException(source, "storage " + key + ": expected its element count at offset " + p
                        + ", got the end of the file (truncated)");
            }
            long n = 0;
            for (int i = 7; i >= 0; i--) {
                n = n << 8 | (b[(int) p + i] & 0xff);
            }
            p += 8;
            int elem = Pickle.STORAGES.get(s.type());
            if (n != s.numel() || n < 0 || n > (b.length - p) / elem) {
                throw new TorchFormatException(source, "storage " + key + ": expected " + s.numel() + " elements of "
                        + elem + " bytes within the file, got a count of " + n + " and " + (b.length - p) + " bytes left");
            }
            if (s.type().equals("torch.FloatStorage") && !storages.containsKey(key)) {
                storages.put(key, floats(b, (int) p, n));
            }
            p += n * elem;
        }
        return build(source, Format.LEGACY, root, object, storages);
    }

    // ------------------------------------------------------------------------------------------------ tensors

    private static float[] floats(byte[] raw, int from, long n) {
        MemoryBudget.require(MemoryBudget.bytesOf(n, 4), "float32 storage of " + n + " values");
        float[] out = new float[(int) n];
        java.nio.ByteBuffer.wrap(raw, from, (int) n * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    private static TorchFile build(String source, Format format, Object root, Pickle pickle,
            Map<String, float[]> storages) throws TorchFormatException {
        Map<Pickle.TensorRef, Tensor> resolved = new IdentityHashMap<>();
        long copied = 0;
        for (Pickle.TensorRef r : pickle.tensors) {
            float[] data = storages.get(r.storage().key());
            if (data != null && !resolved.containsKey(r)) {
                Tensor t = tensor(source, r, data);
                // many views of one storage each copy it: their total is what must fit
                copied += t.size();
                MemoryBudget.require(MemoryBudget.bytesOf(copied, 4), source + ": tensors copied out of storages");
                resolved.put(r, t);
            }
        }
        Map<String, Object> entries;
        RecurrentConfig config = null;
        if (root instanceof Pickle.PyDict d) {
            entries = strings(source, d, "state_dict");
        } else if (root instanceof Pickle.ModuleObj m) {
            if (m.state == null) {
                throw new TorchFormatException(source, "module " + m.type + ": expected its attributes (BUILD), got none");
            }
            config = moduleConfig(source, m);
            Object params = m.state.get("_parameters");
            if (!(params instanceof Pickle.PyDict pd)) {
                throw new TorchFormatException(source, "module " + m.type + " _parameters: expected a dict, got "
                        + Pickle.kind(params));
            }
            entries = strings(source, pd, "_parameters");
        } else {
            throw new TorchFormatException(source, "expected a state_dict (a dict of tensors) or a pickled"
                    + " nn.LSTM/GRU/RNN, got " + Pickle.kind(root));
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> other = new LinkedHashMap<>();
        for (var e : entries.entrySet()) {
            if (e.getValue() instanceof Pickle.TensorRef r) {
                Tensor t = resolved.get(r);
                if (t != null) {
                    tensors.put(e.getKey(), t);
                } else {
                    other.put(e.getKey(), r.storage().type());
                }
            } else if (e.getValue() != Pickle.NONE) {
                throw new TorchFormatException(source, TorchZip.printable(e.getKey()) + ": expected a tensor, got "
                        + Pickle.kind(e.getValue()));
            }
        }
        return new TorchFile(source, format, tensors, other, config);
    }

    private static Map<String, Object> strings(String source, Pickle.PyDict d, String what) throws TorchFormatException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : d.entrySet()) {
            if (!(e.getKey() instanceof String k)) {
                throw new TorchFormatException(source, what + ": expected string keys, got " + Pickle.kind(e.getKey()));
            }
            out.put(k, e.getValue());
        }
        return out;
    }

    /**
     * Checks offset, sizes and strides against the storage and copies the tensor out in row-major order (any
     * non-negative strides; a view of part of a storage is copied, never shared).
     */
    private static Tensor tensor(String source, Pickle.TensorRef r, float[] data) throws TorchFormatException {
        long[] size = r.size(), stride = r.stride();
        String what = "tensor on storage " + r.storage().key();
        if (size.length == 0 || size.length > 8) {
            throw new TorchFormatException(source, what + ": expected 1 to 8 dimensions, got " + size.length);
        }
        long count = 1, last = r.offset();
        for (int i = 0; i < size.length; i++) {
            if (size[i] < 0 || size[i] > Integer.MAX_VALUE || stride[i] < 0 || stride[i] > Integer.MAX_VALUE) {
                throw new TorchFormatException(source, what + ": expected non-negative sizes and strides below 2^31, got"
                        + " size " + java.util.Arrays.toString(size) + " stride " + java.util.Arrays.toString(stride));
            }
            count = Math.multiplyHigh(count, size[i]) != 0 ? Long.MAX_VALUE : count * size[i];
            if (count > Integer.MAX_VALUE) {
                throw new TorchFormatException(source, what + ": expected fewer than 2^31 elements, got size "
                        + java.util.Arrays.toString(size));
            }
            if (size[i] > 0) {
                last += (size[i] - 1) * stride[i];
            }
        }
        if (r.offset() < 0 || count > 0 && (last >= data.length || last < 0)) {
            throw new TorchFormatException(source, what + ": expected offset " + r.offset() + ", size "
                    + java.util.Arrays.toString(size) + " and stride " + java.util.Arrays.toString(stride) + " within its "
                    + data.length + " elements, got an element beyond them");
        }
        if (count > data.length) {
            // overlapping strides (e.g. 0) could otherwise turn a tiny storage into a huge tensor
            throw new TorchFormatException(source, what + ": expected at most its storage's " + data.length
                    + " elements, got size " + java.util.Arrays.toString(size));
        }
        int[] shape = new int[size.length];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = (int) size[i];
        }
        float[] out = new float[(int) count];
        int[] idx = new int[shape.length];
        for (int n = 0; n < out.length; n++) {
            long at = r.offset();
            for (int i = 0; i < idx.length; i++) {
                at += idx[i] * stride[i];
            }
            out[n] = data[(int) at];
            for (int i = idx.length - 1; i >= 0 && ++idx[i] == shape[i]; i--) {
                idx[i] = 0;
            }
        }
        return Tensor.wrap(out, shape);
    }

    private static RecurrentConfig moduleConfig(String source, Pickle.ModuleObj m) throws TorchFormatException {
        Pickle.PyDict s = m.state;
        Object mode = s.get("mode");
        String cls = m.type.substring(m.type.lastIndexOf('.') + 1);
        CellType type = switch (String.valueOf(mode instanceof String ? mode : "")) {
            case "LSTM" -> CellType.LSTM;
            case "GRU" -> CellType.GRU;
            case "RNN_TANH" -> CellType.RNN_TANH;
            case "RNN_RELU" -> CellType.RNN_RELU;
            default -> throw new TorchFormatException(source, "module " + cls + " mode: expected LSTM, GRU, RNN_TANH or"
                    + " RNN_RELU, got " + Pickle.kind(mode));
        };
        if (!(cls.equals("RNN") ? type == CellType.RNN_TANH || type == CellType.RNN_RELU : cls.equals(type.name()))) {
            throw new TorchFormatException(source, "module " + cls + ": mode " + mode + " does not match its class");
        }
        int in = positive(source, s, "input_size"), hidden = positive(source, s, "hidden_size"),
                layers = positive(source, s, "num_layers");
        Object proj = s.getOrDefault("proj_size", 0L);
        if (!(proj instanceof Long pl) || pl < 0 || pl > Integer.MAX_VALUE) {
            throw new TorchFormatException(source, "module " + cls + " proj_size: expected a non-negative integer, got "
                    + Pickle.kind(proj));
        }
        try {
            return new RecurrentConfig(type, in, hidden, layers, bool(source, s, "bias"), bool(source, s, "batch_first"),
                    bool(source, s, "bidirectional"), (int) (long) pl);
        } catch (IllegalArgumentException e) {
            throw new TorchFormatException(source, "module " + cls + ": " + e.getMessage(), e);
        }
    }

    private static int positive(String source, Pickle.PyDict s, String key) throws TorchFormatException {
        Object v = s.get(key);
        if (!(v instanceof Long l) || l < 1 || l > Integer.MAX_VALUE) {
            throw new TorchFormatException(source, "module " + key + ": expected a positive integer, got " + Pickle.kind(v));
        }
        return (int) (long) l;
    }

    private static boolean bool(String source, Pickle.PyDict s, String key) throws TorchFormatException {
        Object v = s.get(key);
        if (!(v instanceof Boolean b)) {
            throw new TorchFormatException(source, "module " + key + ": expected True or False, got " + Pickle.kind(v));
        }
        return b;
    }

    static List<String> names(Map<String, ?> m) {
        return List.copyOf(m.keySet());
    }
}

package org.rnnkit.torch;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.rnnkit.tensor.MemoryBudget;

/**
 * The zip container of {@code torch.save} (PyTorch 1.6+), read from its central directory in memory.
 *
 * <p>Confinement: every entry must sit under one top-level folder ({@code <archive>/...}), with no {@code ..},
 * empty or absolute segment and no backslash, so that no name can point outside the archive's own folder. The
 * total declared size of the entries must fit {@link MemoryBudget} before any is read. Storages are normally
 * stored; a deflated entry is inflated into exactly its declared size and refused if it inflates to more.
 *
 * <p>Not thread-safe; used by one read only.
 */
final class TorchZip {
    private static final int EOCD = 0x06054b50, CEN = 0x02014b50, LOC = 0x04034b50, ZIP64_EOCD = 0x06064b50,
            ZIP64_LOCATOR = 0x07064b50;

    private final byte[] b;
    private final String source;
    /** Entry path below the archive folder (e.g. {@code data.pkl}, {@code data/0}) to its location. */
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private String archive;

    private record Entry(String name, int method, long compressed, long size, long localOffset) {}

    static boolean isZip(byte[] bytes) {
        return bytes.length >= 4 && (bytes[0] & 0xff) == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;
    }

    TorchZip(byte[] bytes, String source) throws TorchFormatException {
        this.b = bytes;
        this.source = source;
        readDirectory();
    }

    /** The top-level folder every entry is under. */
    String archive() {
        return archive;
    }

    boolean has(String path) {
        return entries.containsKey(path);
    }

    /** The bytes of {@code <archive>/<path>}, or null if there is no such entry. */
    byte[] read(String path) throws TorchFormatException {
        Entry e = entries.get(path);
        if (e == null) {
            return null;
        }
        String what = "entry " + archive + "/" + path;
        long p = e.localOffset;
        if (p < 0 || p > b.length - 30L || u32(p) != LOC) {
            throw fail(what + ": expected a local header at offset " + e.localOffset + ", got none");
        }
        long start = p + 30 + u16(p + 26) + u16(p + 28);
        if (start > b.length || e.compressed > b.length - start) {
            throw fail(what + ": expected " + e.compressed + " bytes of data at offset " + start + ", got "
                    + Math.max(0, b.length - start) + " (truncated file)");
        }
        if (e.method == 0) {
            if (e.compressed != e.size) {
                throw fail(what + ": stored entry sizes differ: " + e.compressed + " compressed, " + e.size
                        + " uncompressed");
            }
            byte[] out = new byte[(int) e.size];
            System.arraycopy(b, (int) start, out, 0, out.length);
            return out;
        }
        if (e.method != 8) {
            throw fail(what + ": expected compression method 0 (stored) or 8 (deflate), got " + e.method);
        }
        // bounded: the output array has the declared (budget-checked) size; more output is an error
        byte[] out = new byte[(int) e.size];
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(b, (int) start, (int) e.compressed);
            int n = 0;
            while (n < out.length) {
                int k = inf.inflate(out, n, out.length - n);
                if (k == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += k;
            }
            if (n != out.length || !inf.finished() && inf.inflate(new byte[1]) > 0) {
                throw fail(what + ": expected " + e.size + " bytes when inflated, got "
                        + (n != out.length ? n : "more"));
            }
        } catch (DataFormatException ex) {
            throw new TorchFormatException(source, what + ": corrupt deflate data: " + ex.getMessage(), ex);
        } finally {
            inf.end();
        }
        return out;
    }

    private void readDirectory() throws TorchFormatException {
        long eocd = -1;
        for (long p = b.length - 22L; p >= Math.max(0, b.length - 22L - 65535); p--) {
            if (u32(p) == EOCD && p + 22 + u16(p + 20) == b.length) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) {
            throw fail("expected a zip end-of-central-directory record, got none (truncated or not a zip)");
        }
        long count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            long loc = eocd - 20;
            if (loc < 0 || u32(loc) != ZIP64_LOCATOR) {
                throw fail("expected a zip64 end-of-central-directory locator, got none");
            }
            long z = u64(loc + 8);
            if (z < 0 || z > b.length - 56L || u32(z) != ZIP64_EOCD) {
                throw fail("expected a zip64 end-of-central-directory record at offset " + z + ", got none");
            }
            count = u64(z + 32);
            cdSize = u64(z + 40);
            cdOffset = u64(z + 48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > b.length || cdSize > b.length - cdOffset) {
            throw fail("central directory: expected it within the " + b.length + " bytes, got offset " + cdOffset
                    + " and size " + cdSize);
        }
        // each directory record takes at least 46 bytes: this bounds the count by the file's own size
        if (count < 0 || count > cdSize / 46) {
            throw fail("central directory: " + count + " entries cannot fit in its " + cdSize + " bytes");
        }
        long p = cdOffset, total = 0;
        for (long i = 0; i < count; i++) {
            if (p > cdOffset + cdSize - 46 || u32(p) != CEN) {
                throw fail("central directory entry " + i + ": expected a header at offset " + p + ", got none");
            }
            int method = u16(p + 10), nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32);
            long compressed = u32(p + 20), size = u32(p + 24), local = u32(p + 42);
            long next = p + 46 + nameLen + extraLen + commentLen;
            if (next > cdOffset + cdSize) {
                throw fail("central directory entry " + i + ": runs past the directory's end");
            }
            if ((u16(p + 8) & 1) != 0) {
                throw fail("central directory entry " + i + ": expected no encryption, got an encrypted entry");
            }
            String name = new String(b, (int) p + 46, nameLen, java.nio.charset.StandardCharsets.UTF_8);
            // zip64 sizes and offset, in the order the format lists them, for the fields set to 0xffffffff
            long x = p + 46 + nameLen, xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = u16(x), len = u16(x + 2);
                long q = x + 4, qEnd = q + len;
                if (qEnd > xEnd) {
                    break;
                }
                if (id == 1) {
                    if (size == 0xffffffffL && q + 8 <= qEnd) {
                        size = u64(q);
                        q += 8;
                    }
                    if (compressed == 0xffffffffL && q + 8 <= qEnd) {
                        compressed = u64(q);
                        q += 8;
                    }
                    if (local == 0xffffffffL && q + 8 <= qEnd) {
                        local = u64(q);
                    }
                }
                x = qEnd;
            }
            String rel = confine(name);
            if (size < 0 || compressed < 0 || local < 0 || compressed > b.length) {
                throw fail("entry " + name + ": sizes or offset out of range (" + compressed + ", " + size + ", "
                        + local + ")");
            }
            total += size;
            if (size > Integer.MAX_VALUE - 16 || total < 0 || MemoryBudget.exceeds(total)) {
                throw fail("entries declare " + (total < 0 ? "more than 8 EB" : MemoryBudget.size(total))
                        + " when read, more than the memory budget of " + MemoryBudget.size(MemoryBudget.bytes())
                        + " (-D" + MemoryBudget.PROPERTY + ")");
            }
            if (entries.put(rel, new Entry(name, method, compressed, size, local)) != null) {
                throw fail("entry " + name + ": expected unique names, got it twice");
            }
            p = next;
        }
        if (archive == null) {
            throw fail("expected entries under one folder (<archive>/data.pkl), got an empty zip");
        }
    }

    /** The entry's path below the archive folder; refuses names that could leave it. */
    private String confine(String name) throws TorchFormatException {
        int slash = name.indexOf('/');
        if (name.startsWith("/") || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0 || slash <= 0
                || name.length() > 1024 || name.matches("^[A-Za-z]:.*")) {
            throw fail("entry '" + printable(name) + "': expected a relative path under one top-level folder, got"
                    + " another form");
        }
        for (String seg : name.substring(0, name.endsWith("/") ? name.length() - 1 : name.length()).split("/", -1)) {
            if (seg.isEmpty() || seg.equals("..") || seg.equals(".")) {
                throw fail("entry '" + printable(name) + "': expected no '..', '.' or empty path segment, got one");
            }
        }
        String top = name.substring(0, slash);
        if (archive == null) {
            archive = top;
        } else if (!archive.equals(top)) {
            throw fail("entry '" + printable(name) + "': expected every entry under '" + printable(archive)
                    + "/', got another top-level folder");
        }
        return name.substring(slash + 1);
    }

    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return s.length() > 200 ? sb + "..." : sb.toString();
    }

    private TorchFormatException fail(String msg) {
        return new TorchFormatException(source, "zip: " + msg);
    }

    private int u16(long p) {
        if (p < 0 || p + 2 > b.length) {
            return -1;
        }
        int i = (int) p;
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8;
    }

    private long u32(long p) {
        if (p < 0 || p + 4 > b.length) {
            return -1;
        }
        int i = (int) p;
        return (b[i] & 0xffL) | (b[i + 1] & 0xffL) << 8 | (b[i + 2] & 0xffL) << 16 | (b[i + 3] & 0xffL) << 24;
    }

    private long u64(long p) {
        if (p < 0 || p + 8 > b.length) {
            return -1;
        }
        long lo = u32(p), hi = u32(p + 4);
        return hi > Integer.MAX_VALUE ? -1 : lo | hi << 32;
    }
}

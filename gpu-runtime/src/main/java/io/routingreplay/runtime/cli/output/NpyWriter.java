package io.routingreplay.runtime.cli.output;

import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a routing record's expert ids as a NumPy {@code .npy} file (format version 1.0), shape
 * {@code [num_tokens, num_moe_layers, top_k]}, dtype {@code uint8} or little-endian {@code uint16} as the record
 * stores them, so a trainer reads it with {@code numpy.load}. The record's packed bytes are already C-ordered
 * little-endian, so they are the array data as they are.
 */
public final class NpyWriter {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    /** NumPy pads the header so the data starts on a 64-byte boundary. */
    private static final int ALIGN = 64;

    private NpyWriter() {
    }

    /** The complete file contents: header followed by the ids. */
    public static byte[] toBytes(RoutingRecord routing) {
        byte[] header = header(routing);
        byte[] data = routing.ids();
        byte[] out = new byte[header.length + data.length];
        System.arraycopy(header, 0, out, 0, header.length);
        System.arraycopy(data, 0, out, header.length, data.length);
        return out;
    }

    /** Writes {@code file} atomically (temporary file, then rename), so a reader never sees half an array. */
    public static void write(Path file, RoutingRecord routing) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            out.write(header(routing));
            out.write(routing.ids());
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static byte[] header(RoutingRecord routing) {
        RoutingLayout layout = routing.layout();
        String dict = "{'descr': '" + layout.dtype().npyDescr + "', 'fortran_order': False, 'shape': ("
                + routing.numTokens() + ", " + layout.numMoeLayers() + ", " + layout.topK() + "), }";
        int unpadded = MAGIC.length + 2 + dict.length() + 1;
        int padding = (ALIGN - unpadded % ALIGN) % ALIGN;
        String text = dict + " ".repeat(padding) + "\n";
        byte[] textBytes = text.getBytes(StandardCharsets.US_ASCII);
        if (textBytes.length > 0xffff) {
            throw new IllegalStateException("npy header too long: " + textBytes.length);
        }
        byte[] out = new byte[MAGIC.length + 2 + textBytes.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[MAGIC.length] = (byte) (textBytes.length & 0xff);
        out[MAGIC.length + 1] = (byte) (textBytes.length >>> 8);
        System.arraycopy(textBytes, 0, out, MAGIC.length + 2, textBytes.length);
        return out;
    }
}

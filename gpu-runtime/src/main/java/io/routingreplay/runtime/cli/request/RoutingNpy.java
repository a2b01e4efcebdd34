package io.routingreplay.runtime.cli.request;

import io.routingreplay.runtime.routing.RoutingDtype;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a routing {@code .npy} file as {@code generate --npy-dir} writes it (format 1.0, C order, shape
 * {@code [rows, moe_layers, k]}, {@code |u1} or {@code <u2}): the input of {@code forced_routing_npy} and of
 * {@code verify --npy-dir}. Anything else is refused with the reason.
 *
 * @param shape  {@code [rows, moe_layers, k]}
 * @param ids    the ids, row-major
 */
public record RoutingNpy(int[] shape, int[] ids) {
    private static final Pattern HEADER = Pattern.compile(
            "\\{'descr': '([^']+)', 'fortran_order': False, 'shape': \\((\\d+), (\\d+), (\\d+)\\), *\\} *\n?");

    public static RoutingNpy read(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        if (b.length < 10 || (b[0] & 0xff) != 0x93 || !new String(b, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")
                || b[6] != 1) {
            throw new IllegalArgumentException(file + " is not a .npy file of format version 1.0");
        }
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        if (10 + headerLen > b.length) {
            throw new IllegalArgumentException(file + ": truncated .npy header");
        }
        Matcher m = HEADER.matcher(new String(b, 10, headerLen, StandardCharsets.US_ASCII).strip() + "\n");
        if (!m.matches()) {
            throw new IllegalArgumentException(file + ": expected a C-order 3-d array [rows, moe_layers, k]");
        }
        RoutingDtype dtype = null;
        for (RoutingDtype d : RoutingDtype.values()) {
            if (d.npyDescr.equals(m.group(1))) {
                dtype = d;
            }
        }
        if (dtype == null) {
            throw new IllegalArgumentException(file + ": dtype " + m.group(1) + " is not uint8 (|u1) or uint16 (<u2)");
        }
        int[] shape = {Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4))};
        long n = (long) shape[0] * shape[1] * shape[2];
        int data = 10 + headerLen;
        if (b.length - data != n * dtype.bytes) {
            throw new IllegalArgumentException(file + ": holds " + (b.length - data) + " data bytes, its shape needs "
                    + n * dtype.bytes);
        }
        int[] ids = new int[(int) n];
        ByteBuffer buf = ByteBuffer.wrap(b, data, b.length - data).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = dtype == RoutingDtype.UINT8 ? buf.get() & 0xff : buf.getShort() & 0xffff;
        }
        return new RoutingNpy(shape, ids);
    }
}

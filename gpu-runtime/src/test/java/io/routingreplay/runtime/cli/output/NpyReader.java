package io.routingreplay.runtime.cli.output;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A strict reader of the .npy files {@link NpyWriter} writes, following the format spec, for round-trip tests. */
record NpyReader(String descr, int[] shape, int[] values, int dataOffset) {
    private static final Pattern HEADER = Pattern.compile(
            "\\{'descr': '([^']+)', 'fortran_order': False, 'shape': \\((\\d+), (\\d+), (\\d+)\\), } *\n");

    static NpyReader parse(byte[] file) {
        if (!Arrays.equals(Arrays.copyOf(file, 8), new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0})) {
            throw new AssertionError("bad magic/version");
        }
        int headerLen = (file[8] & 0xff) | (file[9] & 0xff) << 8;
        int dataOffset = 10 + headerLen;
        if (dataOffset % 64 != 0) {
            throw new AssertionError("data not 64-byte aligned: " + dataOffset);
        }
        String header = new String(file, 10, headerLen, StandardCharsets.US_ASCII);
        Matcher m = HEADER.matcher(header);
        if (!m.matches()) {
            throw new AssertionError("unexpected header: " + header);
        }
        String descr = m.group(1);
        int[] shape = {Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4))};
        int count = shape[0] * shape[1] * shape[2];
        int width = switch (descr) {
            case "|u1" -> 1;
            case "<u2" -> 2;
            default -> throw new AssertionError("unexpected descr " + descr);
        };
        if (file.length != dataOffset + count * width) {
            throw new AssertionError("file has " + file.length + " bytes, expected " + (dataOffset + count * width));
        }
        ByteBuffer data = ByteBuffer.wrap(file, dataOffset, count * width).order(ByteOrder.LITTLE_ENDIAN);
        int[] values = new int[count];
        for (int i = 0; i < count; i++) {
            values[i] = width == 1 ? data.get() & 0xff : data.getShort() & 0xffff;
        }
        return new NpyReader(descr, shape, values, dataOffset);
    }
}

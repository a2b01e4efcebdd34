package io.routingreplay.operators.recordsize;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Byte counts of Avro's binary encoding (the body of every topic's single-object records, see
 * {@code SingleObjectCodec}), so a record's size can be bounded without encoding it: ints and longs are zig-zag varints, strings and bytes a varint length + the bytes,
 * arrays and maps one block (a varint count, the items) + a zero, a union its branch index + the value.
 */
final class AvroSizes {

    /** Largest encoded int/long. */
    static final int MAX_LONG = 10;
    static final int MAX_INT = 5;
    static final int FLOAT = 4;
    /** A union's branch index (0 or 1 here). */
    static final int UNION_INDEX = 1;

    private AvroSizes() {
    }

    static int varint(long v) {
        long z = (v << 1) ^ (v >> 63);
        int n = 1;
        while ((z & ~0x7FL) != 0) {
            z >>>= 7;
            n++;
        }
        return n;
    }

    static long string(long utf8Bytes) {
        return varint(utf8Bytes) + utf8Bytes;
    }

    static long string(CharSequence s) {
        return s == null ? 0 : string(utf8Length(s));
    }

    static long bytes(long n) {
        return varint(n) + n;
    }

    /** An array of {@code n} items taking {@code itemBytes} together (Avro writes non-empty arrays as one block). */
    static long array(long n, long itemBytes) {
        return n == 0 ? 1 : varint(n) + itemBytes + 1;
    }

    /** A map of strings to strings, exactly. */
    static long stringMap(Map<? extends CharSequence, ? extends CharSequence> m) {
        long items = 0;
        for (Map.Entry<? extends CharSequence, ? extends CharSequence> e : m.entrySet()) {
            items += string(e.getKey()) + string(e.getValue());
        }
        return array(m.size(), items);
    }

    static long utf8Length(CharSequence s) {
        return s.toString().getBytes(StandardCharsets.UTF_8).length;
    }
}

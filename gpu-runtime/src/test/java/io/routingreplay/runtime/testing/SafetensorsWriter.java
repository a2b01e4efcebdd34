package io.routingreplay.runtime.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes small safetensors files (float32, or raw bytes of any dtype) for tests of the loader's error paths. */
public final class SafetensorsWriter {
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Map<String, String> dtypes = new LinkedHashMap<>();
    private final Map<String, byte[]> data = new LinkedHashMap<>();

    public SafetensorsWriter put(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : values) {
            b.putFloat(f);
        }
        return putRaw(name, "F32", shape, b.array());
    }

    /** A tensor stored as given: {@code dtype} is the safetensors spelling (F8_E4M3, BF16, ...). */
    public SafetensorsWriter putRaw(String name, String dtype, long[] shape, byte[] bytes) {
        shapes.put(name, shape);
        dtypes.put(name, dtype);
        data.put(name, bytes);
        return this;
    }

    public void write(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        long offset = 0;
        for (String name : shapes.keySet()) {
            ObjectNode t = header.putObject(name);
            t.put("dtype", dtypes.get(name));
            var s = t.putArray("shape");
            for (long d : shapes.get(name)) {
                s.add(d);
            }
            long len = data.get(name).length;
            t.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            out.write(h);
            for (byte[] v : data.values()) {
                out.write(v);
            }
        }
    }
}

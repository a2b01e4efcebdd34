package io.routingreplay.runtime.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped. The file is mapped in windows of at most {@link #WINDOW} bytes that
 * each hold whole tensors (a Java mapping is limited to 2 GiB); nothing is copied onto the heap.
 */
public final class SafetensorsFile {
    static final long WINDOW = 1L << 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Map<String, TensorView> tensors = new LinkedHashMap<>();

    private record Entry(String name, Dtype dtype, long[] shape, long begin, long end) {
    }

    public SafetensorsFile(Path path) {
        this.path = path;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            if (size < 8 || ch.read(lenBuf, 0) != 8) {
                throw new IllegalArgumentException(path + " is not a safetensors file (shorter than 8 bytes)");
            }
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > Math.min(size - 8, 100L << 20)) {
                throw new IllegalArgumentException(path + " is not a safetensors file (header length " + headerLen + ")");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            ch.read(hb, 8);
            JsonNode header = JSON.readTree(hb.array());
            long dataStart = 8 + headerLen;
            List<Entry> entries = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                long[] shape = new long[t.get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.get("shape").get(i).asLong();
                }
                long begin = dataStart + t.get("data_offsets").get(0).asLong();
                long end = dataStart + t.get("data_offsets").get(1).asLong();
                if (end - begin > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(path + ": tensor '" + e.getKey()
                            + "' is larger than 2 GiB, which this loader does not support");
                }
                if (begin > end || end > size) {
                    throw new IllegalArgumentException(path + ": tensor '" + e.getKey() + "' lies outside the file"
                            + " (truncated download?)");
                }
                entries.add(new Entry(e.getKey(), Dtype.fromSafetensors(t.get("dtype").asText(), e.getKey()), shape,
                        begin, end));
            }
            entries.sort(Comparator.comparingLong(Entry::begin));
            int i = 0;
            while (i < entries.size()) {
                long winStart = entries.get(i).begin();
                int j = i;
                while (j < entries.size() && entries.get(j).end() - winStart <= Math.max(WINDOW,
                        entries.get(i).end() - winStart)) {
                    j++;
                }
                long winEnd = entries.get(j - 1).end();
                MappedByteBuffer win = ch.map(FileChannel.MapMode.READ_ONLY, winStart, winEnd - winStart);
                for (int k = i; k < j; k++) {
                    Entry e = entries.get(k);
                    ByteBuffer slice = win.slice((int) (e.begin() - winStart), (int) (e.end() - e.begin()));
                    tensors.put(e.name(), new TensorView(e.name(), e.dtype(), e.shape(), slice));
                }
                i = j;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorView> tensors() {
        return tensors;
    }
}

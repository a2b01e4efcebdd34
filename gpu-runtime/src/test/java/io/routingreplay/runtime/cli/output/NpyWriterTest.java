package io.routingreplay.runtime.cli.output;

import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class NpyWriterTest {

    /** 5 tokens × 3 MoE layers × top-2, ids chosen to use the dtype's whole range. */
    private static RoutingRecord record(int numExperts) {
        RoutingLayout layout = new RoutingLayout(new int[]{0, 2, 5}, 2, numExperts);
        int[] ids = new int[5 * 3 * 2];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 37 + 11) % numExperts;
        }
        ids[ids.length - 1] = numExperts - 1;
        return new RoutingRecord(layout, 5, RoutingRecord.pack(layout, ids, 0, ids.length), null);
    }

    private static int[] expected(RoutingRecord r) {
        int[] out = new int[r.numTokens() * r.layout().idsPerToken()];
        int i = 0;
        for (int t = 0; t < r.numTokens(); t++) {
            for (int l = 0; l < r.layout().numMoeLayers(); l++) {
                for (int k = 0; k < r.layout().topK(); k++) {
                    out[i++] = r.id(t, l, k);
                }
            }
        }
        return out;
    }

    @Test
    void uint8RoundTrip() {
        RoutingRecord r = record(256);
        NpyReader npy = NpyReader.parse(NpyWriter.toBytes(r));
        assertEquals("|u1", npy.descr());
        assertArrayEquals(new int[]{5, 3, 2}, npy.shape());
        assertArrayEquals(expected(r), npy.values());
    }

    @Test
    void uint16RoundTrip() {
        RoutingRecord r = record(60000);
        NpyReader npy = NpyReader.parse(NpyWriter.toBytes(r));
        assertEquals("<u2", npy.descr());
        assertArrayEquals(new int[]{5, 3, 2}, npy.shape());
        assertArrayEquals(expected(r), npy.values());
    }

    @Test
    void emptyRecordHasShapeZero() {
        RoutingLayout layout = new RoutingLayout(new int[]{0}, 4, 16);
        NpyReader npy = NpyReader.parse(NpyWriter.toBytes(new RoutingRecord(layout, 0, new byte[0], null)));
        assertArrayEquals(new int[]{0, 1, 4}, npy.shape());
    }

    @Test
    void writeCreatesTheFileAtomically(@TempDir Path dir) throws IOException {
        RoutingRecord r = record(16);
        Path file = dir.resolve("a.npy");
        NpyWriter.write(file, r);
        assertArrayEquals(NpyWriter.toBytes(r), Files.readAllBytes(file));
        assertEquals(List.of(file), Files.list(dir).toList(), "no temporary file left behind");
    }

    /** The file a trainer gets must load in NumPy itself; skipped only where python3 has no numpy. */
    @Test
    void numpyLoadsBothDtypes(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(numpyAvailable(), "python3 with numpy not available");
        for (int experts : new int[]{128, 1000}) {
            RoutingRecord r = record(experts);
            Path file = dir.resolve("r" + experts + ".npy");
            NpyWriter.write(file, r);
            String script = "import numpy as np, sys\n"
                    + "a = np.load(sys.argv[1])\n"
                    + "print(a.dtype.str, a.shape, a.flags['C_CONTIGUOUS'], ','.join(str(int(v)) for v in a.ravel()))\n";
            String out = python(script, file.toString());
            StringBuilder ids = new StringBuilder();
            for (int v : expected(r)) {
                ids.append(ids.length() == 0 ? "" : ",").append(v);
            }
            String dtype = experts <= 256 ? "|u1" : "<u2";
            assertEquals(dtype + " (5, 3, 2) True " + ids, out.strip());
        }
    }

    private static boolean numpyAvailable() {
        try {
            return python("import numpy").isEmpty();
        } catch (Exception e) {
            return false;
        }
    }

    private static String python(String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("python3", "-c", script));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("python3 failed: " + out);
        }
        return out;
    }
}

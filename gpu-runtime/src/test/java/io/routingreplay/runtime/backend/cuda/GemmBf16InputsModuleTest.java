package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module CudaDevice loads for {@code --gemm-inputs bf16} (gemm_bf16_inputs.cu): it must replace every GEMM entry
 * of kernels.ptx (one left out would still multiply hi + lo), with the same parameters (the launches are
 * ForwardPass's, unchanged), and each must run exactly the hi products: half of kernels.ptx's mma. Reads the
 * built PTX; runs without a GPU.
 */
class GemmBf16InputsModuleTest {

    @Test
    void replacesEveryGemmEntryWithTheSameParametersAndHalfTheProducts() throws IOException {
        Map<String, String> main = entries(KernelSources.ptx());
        Map<String, String> bf16 = entries(KernelSources.ptx(CudaDevice.GEMM_BF16_INPUTS_PTX_RESOURCE));
        for (String name : main.keySet()) {
            if (name.startsWith("gemm_")) {
                assertTrue(bf16.containsKey(name), name + " is a GEMM of kernels.ptx that the bf16-inputs module "
                        + "lacks: include its header in gemm_bf16_inputs.cu");
            }
        }
        int withProducts = 0;
        for (Map.Entry<String, String> e : bf16.entrySet()) {
            String name = e.getKey();
            assertTrue(main.containsKey(name), name + " is not an entry of kernels.ptx");
            assertEquals(parameters(main.get(name)), parameters(e.getValue()), name + "'s parameters");
            int full = count(main.get(name), "mma.sync"), half = count(e.getValue(), "mma.sync");
            assertEquals(full, 2 * half, name + ": " + half + " mma in the bf16-inputs module, " + full + " in kernels.ptx");
            withProducts += full > 0 ? 1 : 0;
        }
        assertTrue(withProducts >= 10, "only " + withProducts + " entries with tensor-core products");
    }

    /** The module's entries, as CudaDevice reads them, are the ones the PTX defines. */
    @Test
    void cudaDeviceReadsTheEntryNames() throws IOException {
        String ptx = KernelSources.ptx(CudaDevice.GEMM_BF16_INPUTS_PTX_RESOURCE);
        assertEquals(entries(ptx).keySet(), CudaDevice.ptxEntries(ptx.getBytes(StandardCharsets.US_ASCII)));
    }

    /** name → the entry's text from {@code .visible .entry name(} to the next entry (or the end). */
    private static Map<String, String> entries(String ptx) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^\\.visible \\.entry (\\w+)\\(").matcher(ptx);
        int start = -1;
        String name = null;
        while (m.find()) {
            if (name != null) {
                out.put(name, ptx.substring(start, m.start()));
            }
            name = m.group(1);
            start = m.start();
        }
        if (name != null) {
            out.put(name, ptx.substring(start));
        }
        return out;
    }

    /** The parameter list: the text between the entry's parentheses. */
    private static String parameters(String entry) {
        return entry.substring(entry.indexOf('('), entry.indexOf(')') + 1);
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}

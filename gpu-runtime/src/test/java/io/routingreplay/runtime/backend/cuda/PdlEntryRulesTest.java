package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kernels/pdl.cuh's rules, checked on what the kernels compile to (the jar's kernels.ptx, every entry point of the
 * module, however it is defined): each entry executes griddepcontrol.wait (PDL_WAIT) before any access to memory
 * other than its parameters and before any return, and griddepcontrol.launch_dependents (PDL_TRIGGER) after it.
 * Only the dense K-split GEMM entries may issue L2 prefetches (their weights) before the wait.
 */
class PdlEntryRulesTest {
    /** The entries whose pre-wait prologue is gemmPrefetchDense (kernels/gemm.cuh): prefetch.global.L2 only. */
    static final Set<String> PREFETCH_BEFORE_WAIT = Set.of("gemm_store", "gemm_store_wide", "gemm_residual",
            "gemm_residual_wide", "gemm_swiglu", "gemm_swiglu_wide");
    private static final Pattern ENTRY = Pattern.compile("\\.entry (\\w+)\\(");
    private static final Pattern WAIT = Pattern.compile("^\\s*griddepcontrol\\.wait;", Pattern.MULTILINE);
    private static final Pattern TRIGGER = Pattern.compile("^\\s*griddepcontrol\\.launch_dependents;", Pattern.MULTILINE);
    /** An instruction (optionally predicated) that reads or writes memory or leaves the kernel. */
    private static final Pattern MEMORY_OR_EXIT = Pattern.compile(
            "^\\s*(?:@!?%\\w+\\s+)?((?:ld|ldu|st|atom|red|cp|prefetch|prefetchu|mbarrier|tex|suld|sust|wgmma|cvta\\.to\\.shared)"
                    + "\\.[\\w.:]+|ret;|exit;|trap;)", Pattern.MULTILINE);

    @Test
    void everyEntryWaitsBeforeItTouchesMemoryAndTriggersAfter() throws IOException {
        String ptx = KernelSources.ptx();
        List<String> problems = new ArrayList<>();
        int entries = 0;
        Matcher m = ENTRY.matcher(ptx);
        List<int[]> spans = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (m.find()) {
            spans.add(new int[]{m.start(), 0});
            names.add(m.group(1));
        }
        for (int i = 0; i < spans.size(); i++) {
            int end = i + 1 < spans.size() ? spans.get(i + 1)[0] : ptx.length();
            String body = ptx.substring(spans.get(i)[0], end);
            String name = names.get(i);
            entries++;
            Matcher w = WAIT.matcher(body);
            if (!w.find()) {
                problems.add(name + ": no griddepcontrol.wait");
                continue;
            }
            Matcher t = TRIGGER.matcher(body);
            if (!t.find(w.end())) {
                problems.add(name + ": no griddepcontrol.launch_dependents after the wait");
            }
            Matcher op = MEMORY_OR_EXIT.matcher(body.substring(0, w.start()));
            while (op.find()) {
                String ins = op.group(1);
                boolean allowed = ins.startsWith("ld.param.")
                        || (PREFETCH_BEFORE_WAIT.contains(name) && ins.equals("prefetch.global.L2"));
                if (!allowed) {
                    problems.add(name + ": " + ins + " before griddepcontrol.wait");
                }
            }
        }
        assertTrue(entries >= 103, "entries found in kernels.ptx: " + entries);
        assertEquals(List.of(), problems);
    }
}

package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.SeqChunk;
import jcuda.Pointer;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

/**
 * Prompt-end logits on the GPU ({@link io.routingreplay.runtime.backend.ModelRunner#supportsPromptEndLogits}): which
 * row of {@code ws.logits} each sampled chunk of a step takes, and the copies of whole rows between
 * {@code ws.logits} and the host.
 *
 * <p>Rows: the chunks that compute their logits first, in chunk order (the final RMSNorm and lm_head write rows
 * {@code 0 .. computed - 1}, and no GEMM stores a row past its row count), then the chunks that sample from a kept
 * row ({@link SeqChunk#sampleFrom()}), whose rows are copied host→device into the rows after them. The one
 * {@code sample_tokens} launch then runs over all of them unchanged, so a token drawn from a kept row is the token
 * and logprob the cold step drew from the row it computed (the same bits, the same kernel).
 *
 * <p>Copies go through one page-locked staging buffer (one vocab-sized slot per row a step moves; allocated at the
 * first step that moves one, grown when a step moves more), enqueued on the step's stream: the given rows before
 * the step's kernels, the kept rows ({@link SeqChunk#keepLogits()}) after {@code sample_tokens}, read back once the
 * stream is synchronised.
 */
final class LogitsRowStaging {
    private final CudaDevice dev;
    private final Workspace ws;
    private final int vocab;
    private Pointer pinned;
    private int slots;

    LogitsRowStaging(CudaDevice dev, Workspace ws, int vocab) {
        this.dev = dev;
        this.ws = ws;
        this.vocab = vocab;
    }

    /**
     * Per chunk its row among the step's sampled rows, -1 for a chunk that samples nothing: the computing chunks'
     * rows in chunk order, then those of the chunks sampling from a kept row. Refuses a chunk of no tokens that does
     * not sample from a whole kept row (it would have nothing to sample from).
     */
    static int[] sampleRows(List<SeqChunk> chunks, int vocab) {
        int[] rows = new int[chunks.size()];
        int r = 0;
        for (int i = 0; i < chunks.size(); i++) {
            SeqChunk ch = chunks.get(i);
            float[] given = ch.sampleFrom();
            if (given != null || ch.length() == 0) {
                if (given == null || !ch.sample() || ch.length() != 0 || given.length != vocab) {
                    throw new IllegalArgumentException("chunk " + i + " samples from a kept row: it must sample, "
                            + "feed no tokens and give " + vocab + " logits (got " + ch.length() + " tokens, "
                            + (given == null ? "no row" : given.length + " logits") + ")");
                }
                rows[i] = -1; // numbered after the computed rows, below
            } else {
                rows[i] = ch.sample() ? r++ : -1;
            }
        }
        for (int i = 0; i < chunks.size(); i++) {
            if (chunks.get(i).sampleFrom() != null) {
                rows[i] = r++;
            }
        }
        return rows;
    }

    /** Rows the final RMSNorm and lm_head compute: the sampling chunks that feed tokens. */
    static int computedRows(List<SeqChunk> chunks) {
        int n = 0;
        for (SeqChunk ch : chunks) {
            if (ch.sample() && ch.sampleFrom() == null) {
                n++;
            }
        }
        return n;
    }

    /**
     * Before the step's kernels: makes room for every row the step moves and enqueues the host→device copy of each
     * given row into its row of {@code ws.logits} (lm_head writes only the computed rows before them).
     */
    void enqueueGiven(List<SeqChunk> chunks, int[] rows) {
        int slot = 0;
        reserve(chunks);
        for (int i = 0; i < chunks.size(); i++) {
            float[] given = chunks.get(i).sampleFrom();
            if (given != null) {
                slot(slot).put(given);
                cuMemcpyHtoDAsync(logitsRow(rows[i]), pinned.withByteOffset(slotOffset(slot)), rowBytes(), dev.stream);
                slot++;
            }
        }
    }

    /** After {@code sample_tokens} (and {@link #enqueueGiven} for the same step): enqueues the device→host copy of
     *  each row a {@code keepLogits} chunk sampled from (a chunk that samples from a given row keeps nothing: its row
     *  is kept already). */
    void enqueueKept(List<SeqChunk> chunks, int[] rows) {
        int slot = givenCount(chunks);
        for (int i = 0; i < chunks.size(); i++) {
            if (keeps(chunks.get(i))) {
                cuMemcpyDtoHAsync(pinned.withByteOffset(slotOffset(slot)), logitsRow(rows[i]), rowBytes(), dev.stream);
                slot++;
            }
        }
    }

    /** Once the stream is synchronised: per chunk the row it kept (vocab floats), null elsewhere. */
    float[][] kept(List<SeqChunk> chunks) {
        float[][] out = new float[chunks.size()][];
        int slot = givenCount(chunks);
        for (int i = 0; i < chunks.size(); i++) {
            if (keeps(chunks.get(i))) {
                out[i] = new float[vocab];
                slot(slot++).get(out[i]);
            }
        }
        return out;
    }

    /** Whether the step moves any row (else it runs exactly as without prompt-end logits). */
    static boolean movesRows(List<SeqChunk> chunks) {
        for (SeqChunk ch : chunks) {
            if (ch.sampleFrom() != null || keeps(ch)) {
                return true;
            }
        }
        return false;
    }

    private static boolean keeps(SeqChunk ch) {
        return ch.keepLogits() && ch.sample() && ch.sampleFrom() == null;
    }

    private static int givenCount(List<SeqChunk> chunks) {
        int n = 0;
        for (SeqChunk ch : chunks) {
            n += ch.sampleFrom() != null ? 1 : 0;
        }
        return n;
    }

    /** Makes room for the step's given and kept rows (one slot each). */
    private void reserve(List<SeqChunk> chunks) {
        int need = givenCount(chunks);
        for (SeqChunk ch : chunks) {
            need += keeps(ch) ? 1 : 0;
        }
        if (need > slots) {
            if (pinned != null) {
                dev.freeHost(pinned);
            }
            slots = Math.max(need, Math.min(2 * slots, ws.maxSeqs));
            pinned = dev.allocHost((long) slots * rowBytes());
        }
    }

    private FloatBuffer slot(int s) {
        return pinned.getByteBuffer(slotOffset(s), rowBytes()).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private long slotOffset(int s) {
        return (long) s * rowBytes();
    }

    private long rowBytes() {
        return 4L * vocab;
    }

    private jcuda.driver.CUdeviceptr logitsRow(int r) {
        return ws.logits.withByteOffset((long) r * rowBytes());
    }
}

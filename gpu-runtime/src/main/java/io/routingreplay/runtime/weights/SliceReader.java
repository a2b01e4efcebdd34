package io.routingreplay.runtime.weights;

/**
 * Reads one rank's parts of memory-mapped checkpoint tensors into buffers of its own (on a GPU: through a staging
 * buffer onto the device), counting the checkpoint bytes it reads: rows are one contiguous range each, columns one
 * range per row. What a rank never asks for is never read (the mapping only touches the pages read).
 */
public final class SliceReader {
    private long bytesRead;

    /** The whole tensor (norms, routers, what every rank replicates). */
    public TensorView whole(TensorView t) {
        return rows(t, 0, t.shape[0]);
    }

    /** Rows [from, to) of the first dimension (elements of a 1-D tensor). */
    public TensorView rows(TensorView t, long from, long to) {
        TensorView s = t.readRows(from, to);
        bytesRead += t.storedBytes(s.numel());
        return s;
    }

    /** Columns [from, to) of a 2-D tensor. */
    public TensorView columns(TensorView t, long from, long to) {
        TensorView s = t.readColumns(from, to);
        bytesRead += t.storedBytes(s.numel());
        return s;
    }

    /** Checkpoint bytes read so far (fp8 weights count their one-byte codes). */
    public long bytesRead() {
        return bytesRead;
    }
}

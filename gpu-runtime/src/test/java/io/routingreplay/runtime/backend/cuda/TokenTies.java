package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.ModelRunners;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.sampler.Sampler;
import io.routingreplay.runtime.sampler.SamplingParams;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The agreement check's rule for an output token the GPU and the CPU backend chose differently. Both are float32
 * engines whose logits differ in the last bits (their GEMMs sum in other orders). Sampling orders the candidates by
 * logit and walks their cumulative distribution: two candidates whose logits are that close may come out in the
 * other order on the other backend, and then swap the shares of the distribution the draw walks (the H100's
 * glm4-moe-tiny request 81: tokens 395 and 715, logits 2.6e-6 apart, ranks 46 and 47 of its top 50; the draw lies
 * in the second share, 0.0027 from their boundary); greedy decoding is the same race for rank 0. A differing token
 * counts as a mismatch unless the CPU, recomputing that very choice (the same row, seed and output index), chooses
 * the GPU's token once that token's logit moves by at most {@link #LOGIT_TOLERANCE} up or down. A GPU that samples
 * wrongly (another uniform, temperature, top-k or top-p cut) picks tokens that are neither tied in logit with the
 * CPU's choice nor at the edge of the draw's share, and stays a mismatch.
 */
final class TokenTies {
    /** In logit units: the checks' tolerance for near-ties everywhere (1e-4), well above two fp32 backends' drift. */
    static final float LOGIT_TOLERANCE = (float) CudaChecks.MARGIN;

    private TokenTies() {
    }

    /**
     * Whether the CPU backend, choosing output {@code index} after {@code tokens} (the prompt and the outputs both
     * backends agreed on) with the request's params, chooses {@code gpuToken} once that token's logit moves by at
     * most {@link #LOGIT_TOLERANCE}.
     */
    static boolean cpuChoosesWithinTolerance(Path model, Numerics numerics, int[] tokens, SamplingParams p, int index,
                                             int gpuToken) {
        return choosesWithinTolerance(cpuLogits(model, numerics, tokens, p, index), p, index, gpuToken, LOGIT_TOLERANCE);
    }

    /**
     * Whether this row's choice (greedy, or the draw of (seed, index)) is {@code token} once that token's logit takes
     * some value within {@code tolerance} of its own: the choice changes only where the logit crosses another one
     * (the order) or moves the draw's shares (the mass), so the values tried are both ends and just either side of
     * every logit in between.
     */
    static boolean choosesWithinTolerance(float[] row, SamplingParams p, int index, int token, float tolerance) {
        long seed = p.isGreedy() ? 0L : p.seed();
        float own = row[token];
        List<Float> values = new ArrayList<>(List.of(own, own - tolerance, own + tolerance));
        for (float v : row) {
            if (v != own && Math.abs(v - own) <= tolerance) {
                values.add(Math.nextDown(v));
                values.add(Math.nextUp(v));
            }
        }
        float[] r = row.clone();
        for (float v : values) {
            r[token] = v;
            if (Sampler.sample(r, 0, r.length, p, seed, index).token() == token) {
                return true;
            }
        }
        return false;
    }

    /** The CPU backend's raw logits row after {@code tokens}: one prefill chunk keeping the row it chooses from. */
    static float[] cpuLogits(Path model, Numerics numerics, int[] tokens, SamplingParams p, int index) {
        int n = tokens.length, blocks = (n + 15) / 16;
        EngineConfig cfg = numerics.applyTo(EngineConfig.builder(model).threads(2).maxNumSeqs(1).maxBatchTokens(n)
                .kvBlockSize(16).kvCacheTokens(16 * blocks)).build();
        int[] blockTable = new int[blocks];
        for (int b = 0; b < blocks; b++) {
            blockTable[b] = b;
        }
        long seed = p.isGreedy() ? 0L : p.seed();
        try (ModelRunner cpu = ModelRunners.create(cfg)) {
            SeqChunk chunk = new SeqChunk(tokens, 0, blockTable, true, p, seed, index, null, null, true, null);
            return cpu.forward(new ForwardBatch(List.of(chunk))).keptLogits()[0];
        }
    }
}

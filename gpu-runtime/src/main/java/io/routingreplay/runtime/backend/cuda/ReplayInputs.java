package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.SeqChunk;

import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * A step's routing-replay and scoring inputs ({@link SeqChunk#forcedIds()}, {@link SeqChunk#scoreTokens()}) as the
 * CUDA kernels read them, packed after the block tables into the step's one host→device copy, and the outputs they
 * produce, read from after the routing record in its one device→host copy. Kept apart from the runner so the layout
 * is tested without a GPU.
 *
 * <p>Inputs, in int32 words from {@code base}: when a chunk is forced, {@code forcedRow[T]} (the token's row of forced
 * ids, or −1) and the forced positions' rows {@code [F][moe layer][k]} (kernels/replay.cuh); when a chunk scores,
 * {@code scoreRows[R]} (the token index of each scored position, step order) and {@code scoreTargets[R]}.
 * Outputs, in words from the output base: {@code reproduced[F][moe layer]} (ints), then the R scored logprobs (fp32).
 */
final class ReplayInputs {
    /** Forced tokens (rows of forced ids) and scored positions of the step. */
    final int forcedTokens, scoredRows;
    /** Word offsets in the input buffer (meaningful only where there are forced tokens / scored rows). */
    final int offForcedRow, offForcedIds, offScoreRows, offScoreTargets;
    /** The first word after the packed inputs. */
    final int endWord;
    private final int numMoe, k;

    private ReplayInputs(int forcedTokens, int scoredRows, int offForcedRow, int offForcedIds, int offScoreRows,
                         int offScoreTargets, int endWord, int numMoe, int k) {
        this.forcedTokens = forcedTokens;
        this.scoredRows = scoredRows;
        this.offForcedRow = offForcedRow;
        this.offForcedIds = offForcedIds;
        this.offScoreRows = offScoreRows;
        this.offScoreTargets = offScoreTargets;
        this.endWord = endWord;
        this.numMoe = numMoe;
        this.k = k;
    }

    /** Whether any chunk of the step carries forced ids or tokens to score. */
    static boolean any(List<SeqChunk> chunks) {
        for (SeqChunk ch : chunks) {
            if (ch.hasReplayInputs()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Checks and writes the step's replay inputs into {@code in} from word {@code base} (whose capacity
     * {@link #maxWords} bounds).
     *
     * @param numMoe MoE layers, {@code k} routed experts each, {@code numExperts} experts, {@code vocab} tokens
     */
    static ReplayInputs pack(List<SeqChunk> chunks, int numMoe, int k, int numExperts, int vocab, IntBuffer in,
                             int base) {
        int per = numMoe * k, T = 0, F = 0, R = 0;
        boolean forced = false;
        for (int i = 0; i < chunks.size(); i++) {
            SeqChunk ch = chunks.get(i);
            int[] f = ch.forcedIds();
            if (f != null) {
                if (f.length % per != 0 || f.length / per > ch.length()) {
                    throw new IllegalArgumentException("chunk " + i + ": " + f.length + " forced ids are not whole "
                            + "positions of " + per + " within its " + ch.length() + " positions");
                }
                for (int id : f) {
                    if (id < 0 || id >= numExperts) {
                        throw new IllegalArgumentException("chunk " + i + ": forced expert id " + id + " outside 0.."
                                + (numExperts - 1));
                    }
                }
                forced = true;
                F += f.length / per;
            }
            int[] s = ch.scoreTokens();
            if (s != null) {
                if (s.length != ch.length()) {
                    throw new IllegalArgumentException("chunk " + i + ": " + s.length + " score tokens for "
                            + ch.length() + " positions");
                }
                for (int target : s) {
                    if (target >= vocab || target < -1) {
                        throw new IllegalArgumentException("chunk " + i + ": score token " + target
                                + " outside the vocabulary of " + vocab);
                    }
                    R += target >= 0 ? 1 : 0;
                }
            }
            T += ch.length();
        }
        int offForcedRow = base, offForcedIds = forced ? base + T : base;
        int offScoreRows = offForcedIds + F * per, offScoreTargets = offScoreRows + R;
        int t = 0, row = 0, r = 0;
        for (SeqChunk ch : chunks) {
            int[] f = ch.forcedIds();
            int forcedHere = f == null ? 0 : f.length / per;
            if (forced) {
                for (int j = 0; j < ch.length(); j++) {
                    in.put(offForcedRow + t + j, j < forcedHere ? row + j : -1);
                }
                for (int q = 0; q < forcedHere * per; q++) {
                    in.put(offForcedIds + row * per + q, f[q]);
                }
                row += forcedHere;
            }
            int[] s = ch.scoreTokens();
            for (int j = 0; s != null && j < ch.length(); j++) {
                if (s[j] >= 0) {
                    in.put(offScoreRows + r, t + j);
                    in.put(offScoreTargets + r, s[j]);
                    r++;
                }
            }
            t += ch.length();
        }
        return new ReplayInputs(forced ? F : 0, R, offForcedRow, offForcedIds, offScoreRows, offScoreTargets,
                offScoreTargets + R, numMoe, k);
    }

    /** Whether the step's routers run the forced entry points (some token is forced). */
    boolean forced() {
        return forcedTokens > 0;
    }

    /** Input words beyond the block tables a step may need: forcedRow, every token forced, every token scored. */
    static long maxWords(int maxTokens, int numMoe, int k) {
        return (long) maxTokens * (1 + (long) numMoe * k + 2);
    }

    /** Output words after the routing record a step may need: reproduced counts and scored logprobs. */
    static long maxOutWords(int maxTokens, int numMoe) {
        return (long) maxTokens * (numMoe + 1);
    }

    /** Output words this step writes after the routing record. */
    int outWords() {
        return forcedTokens * numMoe + scoredRows;
    }

    /** Word offset of the scored logprobs, relative to the replay outputs' base. */
    int outScores() {
        return forcedTokens * numMoe;
    }

    /**
     * Reads the step's outputs from {@code out} at word {@code base} into per-chunk arrays, indexed like
     * {@code chunks}: {@code scores[i]} (per position; NaN where none was asked) for each scoring chunk, and
     * {@code reproduced[i]} ({@code [position][moe layer]}, {@link io.routingreplay.runtime.backend.StepOutput})
     * for each forced one; null entries elsewhere.
     */
    void read(List<SeqChunk> chunks, IntBuffer out, long base, float[][] scores, byte[][] reproduced) {
        int row = 0, r = 0;
        for (int i = 0; i < chunks.size(); i++) {
            SeqChunk ch = chunks.get(i);
            int[] f = ch.forcedIds();
            if (f != null) {
                int positions = f.length / (numMoe * k);
                reproduced[i] = new byte[positions * numMoe];
                for (int q = 0; q < reproduced[i].length; q++) {
                    reproduced[i][q] = (byte) out.get((int) (base + (long) row * numMoe + q));
                }
                row += positions;
            }
            int[] s = ch.scoreTokens();
            if (s != null) {
                scores[i] = new float[ch.length()];
                Arrays.fill(scores[i], Float.NaN);
                for (int j = 0; j < ch.length(); j++) {
                    if (s[j] >= 0) {
                        scores[i][j] = Float.intBitsToFloat(out.get((int) (base + outScores() + r)));
                        r++;
                    }
                }
            }
        }
    }
}

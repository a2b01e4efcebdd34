package io.routingreplay.runtime.engine;

/**
 * What a request's replay inputs produced, handed out with its last event and its result.
 *
 * @param promptLogprobs       scoring ({@code prompt_logprobs}): the log-probability of prompt token i + 1 given
 *                             tokens 0..i, for i in 0 .. prompt − 2 (log-softmax of the raw logits, as
 *                             {@code output_logprobs}); null when not asked
 * @param forcedPositions      m, the positions routed by {@code forced_routing} (0: none)
 * @param forcedMismatches     per MoE layer: forced positions where the free router would have picked a different
 *                             set of experts; null when nothing was forced
 * @param forcedCells          forced ids (cells: forced positions × MoE layers × k)
 * @param forcedCellsReproduced forced ids the free router would also have picked
 */
public record ReplayReport(float[] promptLogprobs, int forcedPositions, int[] forcedMismatches, long forcedCells,
                           long forcedCellsReproduced) {
}

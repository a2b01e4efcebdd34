package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.engine.GenerationResult;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The {@code multi-turn} command's per-turn figures and their table. Columns: turn; requests finished; average
 * prompt and output tokens; prompt positions served from the prefix cache and their share of all prompt positions;
 * KiB of routing ids the turn's records return with routing_start, and what they would return from position 0;
 * the ratio of the two; the turn's wall time (its first submission to its last finish; turns of different
 * conversations overlap).
 */
final class MultiTurnTable {
    static final String HEADER = String.format(Locale.ROOT, "%4s %5s %10s %8s %11s %6s %12s %12s %7s %8s",
            "turn", "reqs", "avg prompt", "avg out", "cached pos", "hit %", "KiB returned", "KiB if 0", "saved x",
            "wall s");

    private final int bytesPerToken;
    private final long[] requests;
    private final long[] promptTokens;
    private final long[] outputTokens;
    private final long[] cachedPositions;
    private final long[] returnedBytes;
    private final long[] fullBytes;
    private final long[] firstSubmitted;
    private final long[] lastFinished;

    MultiTurnTable(int turns, int bytesPerToken) {
        this.bytesPerToken = bytesPerToken;
        requests = new long[turns + 1];
        promptTokens = new long[turns + 1];
        outputTokens = new long[turns + 1];
        cachedPositions = new long[turns + 1];
        returnedBytes = new long[turns + 1];
        fullBytes = new long[turns + 1];
        firstSubmitted = new long[turns + 1];
        lastFinished = new long[turns + 1];
        java.util.Arrays.fill(firstSubmitted, Long.MAX_VALUE);
    }

    void submitted(int turn, long nanos) {
        firstSubmitted[turn] = Math.min(firstSubmitted[turn], nanos);
    }

    void finished(int turn, GenerationResult r, int cached, long nanos) {
        requests[turn]++;
        promptTokens[turn] += r.promptTokenIds().length;
        outputTokens[turn] += r.outputTokenIds().length;
        cachedPositions[turn] += cached;
        returnedBytes[turn] += (long) r.routing().numTokens() * bytesPerToken;
        fullBytes[turn] += (long) r.routing().endPosition() * bytesPerToken;
        lastFinished[turn] = Math.max(lastFinished[turn], nanos);
    }

    void print(PrintStream out, double seconds) {
        out.println(HEADER);
        for (int t = 1; t < requests.length; t++) {
            long n = Math.max(requests[t], 1);
            double wall = requests[t] == 0 ? 0 : (lastFinished[t] - firstSubmitted[t]) / 1e9;
            out.println(String.format(Locale.ROOT, "%4d %5d %10.1f %8.1f %11d %6.1f %12.1f %12.1f %7.2f %8.2f", t,
                    requests[t], promptTokens[t] / (double) n, outputTokens[t] / (double) n, cachedPositions[t],
                    100.0 * cachedPositions[t] / Math.max(promptTokens[t], 1), returnedBytes[t] / 1024.0,
                    fullBytes[t] / 1024.0, fullBytes[t] / (double) Math.max(returnedBytes[t], 1), wall));
        }
        out.println(String.format(Locale.ROOT, "total wall %.2f s (one engine for every turn)", seconds));
    }
}

package io.routingreplay.operators.inference;

import io.routingreplay.schemas.InferenceRequest;
import java.util.Arrays;

/**
 * One admitted, unfinished request as the inference operator's task thread knows it: exactly what has been emitted
 * downstream so far. This is the checkpointed state, so a restore re-admits the request with {@code outputs} and
 * the engine continues right after the last emitted event.
 */
public final class InFlightRequest {
    final InferenceRequest request;
    /** The seed sampling uses: the request's, or one drawn at admission so a restore reproduces the same stream. */
    final long seed;
    final long admittedAt;
    /** Times this request was resumed from a checkpoint; tagged on its events. */
    int attempt;
    /** Next per-rid event number. */
    long nextSeq;
    /** Routed positions emitted so far: [0, nextPosition). */
    int nextPosition;
    int[] outputs;
    float[] logprobs;
    int numOutputs;
    /** Epoch ms of output 0's event, 0 before it. */
    long firstTokenAt;
    /** Whether the running engine holds it (not checkpointed: after a restore no engine does). */
    boolean inEngine;
    /** Whether it emitted an event since it went into the running engine (not checkpointed either). */
    boolean progressed;

    InFlightRequest(InferenceRequest request, long seed, long admittedAt) {
        this(request, seed, admittedAt, 0, 0, 0, new int[8], new float[8], 0, 0);
    }

    InFlightRequest(InferenceRequest request, long seed, long admittedAt, int attempt, long nextSeq, int nextPosition,
                    int[] outputs, float[] logprobs, int numOutputs, long firstTokenAt) {
        this.request = request;
        this.seed = seed;
        this.admittedAt = admittedAt;
        this.attempt = attempt;
        this.nextSeq = nextSeq;
        this.nextPosition = nextPosition;
        this.outputs = outputs;
        this.logprobs = logprobs;
        this.numOutputs = numOutputs;
        this.firstTokenAt = firstTokenAt;
    }

    public String rid() {
        return request.getRid();
    }

    public int[] outputsSoFar() {
        return Arrays.copyOf(outputs, numOutputs);
    }

    public float[] logprobsSoFar() {
        return Arrays.copyOf(logprobs, numOutputs);
    }

    public int nextPosition() {
        return nextPosition;
    }

    public long nextSeq() {
        return nextSeq;
    }

    public int attempt() {
        return attempt;
    }

    public long seed() {
        return seed;
    }

    /** Times the engine failed, or could not be made, while this request was in it (kept in the request). */
    public int engineFailures() {
        return request.getEngineFailures();
    }

    void chargeEngineFailure() {
        request.setEngineFailures(request.getEngineFailures() + 1);
    }

    void addOutput(int token, float logprob) {
        if (numOutputs == outputs.length) {
            outputs = Arrays.copyOf(outputs, numOutputs * 2);
            logprobs = Arrays.copyOf(logprobs, numOutputs * 2);
        }
        outputs[numOutputs] = token;
        logprobs[numOutputs] = logprob;
        numOutputs++;
    }
}

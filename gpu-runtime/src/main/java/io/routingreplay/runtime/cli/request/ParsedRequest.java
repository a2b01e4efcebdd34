package io.routingreplay.runtime.cli.request;

import io.routingreplay.runtime.engine.GenerationRequest;

/**
 * The outcome of checking one request: either a request the engine can take, or the reason it cannot
 * ({@code rid} is kept when it could be read, so a rejection can still be tied to its request).
 */
public record ParsedRequest(String rid, GenerationRequest request, String rejectReason) {

    public static ParsedRequest accepted(GenerationRequest request) {
        return new ParsedRequest(request.rid(), request, null);
    }

    public static ParsedRequest rejected(String rid, String reason) {
        return new ParsedRequest(rid, null, reason);
    }

    public boolean isAccepted() {
        return request != null;
    }
}

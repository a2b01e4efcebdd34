package io.routingreplay.operators.audit;

import io.routingreplay.operators.results.RoutingResults;
import io.routingreplay.runtime.cli.verify.RecordedResult;
import io.routingreplay.runtime.cli.verify.ReplayCheck;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.InvalidRequestException;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.ResultBuilder;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.schemas.RoutingResult;

/**
 * The audit of one result, as {@code routing-replay verify} checks a results line, without Flink: the result's
 * prompt + output is scored by its own engine with the result's routing forced ({@link RecordedResult#replayRequest})
 * and compared with what the result recorded ({@link ReplayCheck}, bit for bit: the audit engine runs the job's
 * backend and settings). A result the audit cannot replay — no routing ({@code return_routing} false), routing from a
 * later position ({@code routing_start}), a request the audit engine refuses — is skipped, not counted as wrong.
 */
public final class ResultAuditor implements AutoCloseable {

    /** What the audit of one result found. */
    public enum Outcome { VERIFIED, MISMATCH, SKIPPED }

    /** @param detail the comparison ({@link ReplayCheck#describe}), the structural errors, or why it was skipped */
    public record Finding(String rid, Outcome outcome, String detail) {
    }

    private final LLMEngine engine;

    /** @param engine this auditor's own engine (closed with it), of the same model, backend and settings as the job's */
    public ResultAuditor(LLMEngine engine) {
        this.engine = engine;
    }

    public Finding audit(RoutingResult r) {
        GenerationResult g = RoutingResults.toGenerationResult(r);
        if (g.routing() == null) {
            return new Finding(g.rid(), Outcome.SKIPPED, "no routing returned (return_routing false)");
        }
        if (g.routing().firstPosition() != 0) {
            return new Finding(g.rid(), Outcome.SKIPPED, "routing returned from position "
                    + g.routing().firstPosition() + " (routing_start): replay needs every row from 0");
        }
        RecordedResult recorded = RecordedResult.of(g, engine.routingLayout());
        if (!recorded.errors().isEmpty()) {
            return new Finding(g.rid(), Outcome.MISMATCH, "structural: " + String.join("; ", recorded.errors()));
        }
        GenerationRequest replay = recorded.replayRequest();
        try {
            engine.add(replay);
        } catch (InvalidRequestException e) {
            return new Finding(g.rid(), Outcome.SKIPPED, "cannot replay here: " + e.getMessage());
        }
        ResultBuilder built = new ResultBuilder(replay, engine.routingLayout());
        while (engine.hasUnfinished()) {
            for (StepEvent e : engine.step()) {
                built.accept(e);
            }
        }
        ReplayCheck check = ReplayCheck.of(recorded, built.build().replay(), null);
        return new Finding(g.rid(), check.ok() ? Outcome.VERIFIED : Outcome.MISMATCH, check.describe(null));
    }

    @Override
    public void close() {
        engine.close();
    }
}

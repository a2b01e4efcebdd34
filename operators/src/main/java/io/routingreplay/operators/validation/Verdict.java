package io.routingreplay.operators.validation;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;

/** What validation made of one record: a request to run, or a dead letter saying why not. */
public sealed interface Verdict {

    record Accepted(InferenceRequest request) implements Verdict {
    }

    record Rejected(DeadLetter deadLetter) implements Verdict {
        public String reason() {
            return deadLetter.getReason();
        }
    }
}

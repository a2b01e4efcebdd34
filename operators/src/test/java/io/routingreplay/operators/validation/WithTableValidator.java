package io.routingreplay.operators.validation;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Tests of the job's validation on the bundled model with default limits: one validator per test class. */
abstract class WithTableValidator {

    static PromptValidator validator;

    @BeforeAll
    static void loadValidator() {
        validator = BadInputTable.validator();
    }

    @AfterAll
    static void closeValidator() {
        validator.close();
    }
}

package io.routingreplay.operators.validation;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * The job's validation step: raw prompt records in, valid requests out (each with its record's bytes, for the
 * duplicate filter's dead letter: {@link ValidatedPrompt}), everything else to the {@link DeadLetters#TAG} side
 * output. No record can fail the task (and so restart the job).
 * Stateless; follow it with {@code keyBy(rid)} and {@link DuplicateRidFilter}.
 */
public class PromptValidationFunction extends ProcessFunction<RawPrompt, ValidatedPrompt> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PromptValidationFunction.class);

    private final String modelDir;
    private final String modelName;
    private final ValidationLimits limits;
    private transient PromptValidator validator;

    public PromptValidationFunction(Path modelDir, String modelName, ValidationLimits limits) {
        this.modelDir = modelDir.toString();
        this.modelName = modelName;
        this.limits = limits;
    }

    @Override
    public void open(OpenContext ctx) {
        validator = PromptValidator.forModel(Path.of(modelDir), modelName, limits);
        validator.tokenizerProblem().ifPresent(problem ->
                LOG.error("The model's tokenizer could not be loaded; text prompts are dead-lettered: {}", problem));
    }

    @Override
    public void processElement(RawPrompt raw, Context ctx, Collector<ValidatedPrompt> out) {
        Verdict v = validator.validate(raw, ctx.timerService().currentProcessingTime());
        if (v instanceof Verdict.Accepted a) {
            out.collect(new ValidatedPrompt(a.request(), raw.value));
        } else {
            ctx.output(DeadLetters.TAG, ((Verdict.Rejected) v).deadLetter());
        }
    }

    @Override
    public void close() {
        if (validator != null) {
            validator.close();
        }
    }
}

package io.routingreplay.operators.audit;

import io.routingreplay.operators.inference.EngineFactory;
import io.routingreplay.operators.inference.EngineSettings;
import io.routingreplay.operators.metrics.AuditMetrics;
import io.routingreplay.schemas.RoutingResult;
import java.io.IOException;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optional audit stage ({@code audit.fraction} > 0): a second consumer of the results stream, beside the results
 * sink, that replays the sampled results ({@link AuditSampler}) with their own routing forced on an engine of its
 * own ({@link ResultAuditor}) and counts what it finds ({@link AuditMetrics}); a mismatch is also logged with the
 * comparison. It writes nothing anywhere, so the results, their transactions and exactly-once delivery are those of
 * the job without it. An audit that throws (a broken engine) costs that audit only: it is counted as skipped, logged,
 * and the next one gets a fresh engine.
 */
public final class ResultAuditSink implements Sink<RoutingResult> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ResultAuditSink.class);

    private final EngineSettings engine;
    private final EngineFactory engines;
    private final AuditSampler sampler;

    public ResultAuditSink(EngineSettings engine, EngineFactory engines, double fraction) {
        this.engine = engine;
        this.engines = engines;
        this.sampler = new AuditSampler(fraction);
    }

    @Override
    public SinkWriter<RoutingResult> createWriter(WriterInitContext context) throws IOException {
        return new Writer(new AuditMetrics(context.metricGroup()));
    }

    private final class Writer implements SinkWriter<RoutingResult> {
        private final AuditMetrics metrics;
        private ResultAuditor auditor;

        Writer(AuditMetrics metrics) {
            this.metrics = metrics;
        }

        @Override
        public void write(RoutingResult r, Context context) {
            if (!sampler.selects(r.getRid())) {
                return;
            }
            ResultAuditor.Finding f;
            try {
                if (auditor == null) {
                    auditor = new ResultAuditor(engines.create(engine));
                }
                f = auditor.audit(r);
            } catch (Exception | LinkageError e) {
                LOG.warn("audit of rid '{}' failed; counted as skipped, the next audit gets a new engine",
                        r.getRid(), e);
                metrics.onOutcome(ResultAuditor.Outcome.SKIPPED);
                closeAuditor();
                return;
            }
            metrics.onOutcome(f.outcome());
            if (f.outcome() == ResultAuditor.Outcome.MISMATCH) {
                LOG.warn("audit of rid '{}': MISMATCH {}", f.rid(), f.detail());
            } else if (f.outcome() == ResultAuditor.Outcome.SKIPPED) {
                LOG.debug("audit of rid '{}' skipped: {}", f.rid(), f.detail());
            }
        }

        @Override
        public void flush(boolean endOfInput) {
            // nothing buffered: each audit is done when write returns
        }

        @Override
        public void close() {
            closeAuditor();
        }

        private void closeAuditor() {
            ResultAuditor a = auditor;
            auditor = null;
            if (a != null) {
                try {
                    a.close();
                } catch (RuntimeException e) {
                    LOG.warn("closing the audit engine failed", e);
                }
            }
        }
    }
}

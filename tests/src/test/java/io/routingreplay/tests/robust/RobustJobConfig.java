package io.routingreplay.tests.robust;

import io.routingreplay.job.JobOptions;
import org.apache.flink.configuration.Configuration;

import java.time.Duration;

/** The job settings the robustness tests share: the tiny model, frequent checkpoints, fixed-delay restarts. */
final class RobustJobConfig {

    static Configuration create(String bootstrap, String topicPrefix) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, RobustWorkload.modelDir().toString());
        conf.set(JobOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(JobOptions.PROMPTS_TOPIC, topicPrefix + "-prompts");
        conf.set(JobOptions.RESULTS_TOPIC, topicPrefix + "-results");
        conf.set(JobOptions.DEAD_LETTER_TOPIC, topicPrefix + "-dead-letters");
        conf.set(JobOptions.GROUP_ID, topicPrefix);
        conf.set(JobOptions.TRANSACTIONAL_ID_PREFIX, topicPrefix);
        conf.set(JobOptions.ENGINE_THREADS, 2);
        conf.set(JobOptions.WINDOW_MAX_WAIT, Duration.ofMillis(10));
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "20");
        conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
        conf.setString("execution.checkpointing.tolerable-failed-checkpoints", "0");
        conf.setString("rest.bind-port", "0");
        return conf;
    }

    static String[] topics(String topicPrefix) {
        return new String[] {topicPrefix + "-prompts", topicPrefix + "-results", topicPrefix + "-dead-letters"};
    }

    private RobustJobConfig() {
    }
}

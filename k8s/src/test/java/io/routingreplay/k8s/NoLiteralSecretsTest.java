package io.routingreplay.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * No credential is written in any manifest: Kafka and S3 credentials reach the pods only through Secrets
 * (env valueFrom.secretKeyRef, secret volumes) that Strimzi or the operator of the cluster creates.
 */
class NoLiteralSecretsTest {

    /** Names of settings and variables that hold credentials. */
    static final Pattern SECRET_NAME = Pattern.compile(
            "(?i).*(password|passwd|secret[-_.]?(access[-_.]?)?key|jaas|credential|api[-_.]?key|access[-_.]?key"
                    + "|private[-_.]?key|auth[-_.]?token|bearer|session[-_.]?token).*");
    /** Values that look like a credential whatever their key: a JAAS line or key=value password. */
    static final Pattern SECRET_VALUE = Pattern.compile(
            "(?is).*(LoginModule\\s+required|password\\s*=|-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}).*");

    static List<Path> manifestFiles() throws IOException {
        try (Stream<Path> s = Files.walk(RepoFiles.K8S)) {
            return s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .filter(p -> !p.startsWith(RepoFiles.K8S.resolve("target"))).sorted().toList();
        }
    }

    /** Every literal credential in a document, as "path: why". */
    static List<String> violations(JsonNode doc) {
        List<String> out = new ArrayList<>();
        if (doc.path("kind").asText().equals("Secret") && (doc.has("data") || doc.has("stringData"))) {
            out.add("a Secret with data: create it with kubectl or let Strimzi make it, never commit it");
        }
        walk(doc, "", out);
        return out;
    }

    private static void walk(JsonNode node, String path, List<String> out) {
        if (node.isObject()) {
            // An env entry: a credential-named variable must come from valueFrom, never value.
            if (node.has("name") && node.has("value") && SECRET_NAME.matcher(node.get("name").asText()).matches()) {
                out.add(path + ": env " + node.get("name").asText() + " has a literal value");
            }
            node.fields().forEachRemaining(e -> {
                JsonNode v = e.getValue();
                String p = path + "." + e.getKey();
                if (v.isValueNode() && !v.asText().isEmpty() && SECRET_NAME.matcher(e.getKey()).matches()) {
                    out.add(p + ": a credential-named setting with a literal value");
                }
                walk(v, p, out);
            });
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                walk(node.get(i), path + "[" + i + "]", out);
            }
        } else if (node.isTextual() && SECRET_VALUE.matcher(node.asText()).matches()) {
            out.add(path + ": the value looks like a credential");
        }
    }

    @Test
    void noManifestHoldsACredential() throws IOException {
        List<Path> files = manifestFiles();
        assertTrue(files.size() >= 8, "found only " + files);
        List<String> all = new ArrayList<>();
        for (Path f : files) {
            for (ObjectNode doc : YamlDocs.read(f)) {
                violations(doc).forEach(v -> all.add(RepoFiles.K8S.relativize(f) + " " + v));
            }
        }
        assertEquals(List.of(), all);
    }

    @Test
    void theRenderedOverlaysHoldNoneEither() {
        for (String overlay : List.of("cpu-dev", "gpu")) {
            for (ObjectNode doc : Manifests.overlay(overlay).raw) {
                assertEquals(List.of(), violations(doc), overlay + " " + Kustomize.id(doc));
            }
        }
    }

    @Test
    void theCheckCatchesLiteralCredentials() throws IOException {
        JsonNode doc = YamlDocs.YAML.readTree("""
                kind: FlinkDeployment
                spec:
                  flinkConfiguration:
                    kafka.sasl.jaas.config: org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";
                    s3.secret-key: abc
                    topics.tokens: routing-replay.tokens
                  podTemplate:
                    spec:
                      containers:
                        - name: flink-main-container
                          env:
                            - name: AWS_SECRET_ACCESS_KEY
                              value: abc
                            - name: ROUTING_REPLAY_KAFKA_SASL_JAAS_CONFIG
                              valueFrom: {secretKeyRef: {name: routing-replay, key: sasl.jaas.config}}
                """);
        List<String> v = violations(doc);
        assertEquals(4, v.size(), v.toString()); // jaas key + its value, s3.secret-key, the env value
        assertTrue(v.stream().anyMatch(s -> s.contains("env AWS_SECRET_ACCESS_KEY")));
        assertTrue(v.stream().noneMatch(s -> s.contains("topics.tokens")));
        assertTrue(v.stream().noneMatch(s -> s.contains("ROUTING_REPLAY_KAFKA_SASL_JAAS_CONFIG")));
    }
}

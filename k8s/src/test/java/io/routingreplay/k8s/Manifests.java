package io.routingreplay.k8s;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import org.apache.flink.kubernetes.operator.api.FlinkDeployment;
import org.apache.flink.kubernetes.operator.api.spec.FlinkVersion;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One rendered set of manifests (the base or an overlay), with each resource read through its operator's own
 * model classes: FlinkDeployment through {@code flink-kubernetes-operator-api}, KafkaTopic and KafkaUser through
 * Strimzi's {@code api}. Reading is strict: a field the model does not know fails, where the operator (or the API
 * server's pruning) would silently drop a misspelled field. The models themselves are lenient
 * ({@code @JsonIgnoreProperties(ignoreUnknown = true)} on the operator's specs, an any-setter collecting unknown
 * fields on fabric8's and Strimzi's), so the reader switches both off.
 *
 * <p>The newest operator API on Maven Central here (1.10.0) predates Flink 2, so its {@link FlinkVersion} enum
 * ends at {@code v1_20}; the reader lets exactly the {@code v2_N} spellings through for that one enum (the typed
 * field reads null, {@link #flinkVersion()} gives the text) and fails on any other unknown value.
 */
final class Manifests {

    static final Pattern FLINK_2_VERSION = Pattern.compile("v2_\\d+");

    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .annotationIntrospector(new JacksonAnnotationIntrospector() {
                @Override
                public JsonIgnoreProperties.Value findPropertyIgnoralByName(MapperConfig<?> config, Annotated a) {
                    return super.findPropertyIgnoralByName(config, a).withoutIgnoreUnknown();
                }

                @Override
                public Boolean hasAnySetter(Annotated a) {
                    return false;
                }
            })
            .addHandler(new DeserializationProblemHandler() {
                @Override
                public Object handleWeirdStringValue(DeserializationContext ctxt, Class<?> targetType, String value,
                                                     String failureMsg) throws java.io.IOException {
                    if (targetType == FlinkVersion.class && FLINK_2_VERSION.matcher(value).matches()) {
                        return null;
                    }
                    return super.handleWeirdStringValue(ctxt, targetType, value, failureMsg);
                }
            })
            .build();

    final String name;
    final List<ObjectNode> raw;

    private Manifests(String name, List<ObjectNode> raw) {
        this.name = name;
        this.raw = raw;
    }

    static Manifests base() {
        return render("base", RepoFiles.K8S.resolve("base"));
    }

    static Manifests overlay(String overlay) {
        return render(overlay, RepoFiles.K8S.resolve("overlays").resolve(overlay));
    }

    static Manifests render(String name, Path dir) {
        return new Manifests(name, Kustomize.render(dir));
    }

    List<ObjectNode> ofKind(String apiVersion, String kind) {
        return raw.stream().filter(r -> r.path("apiVersion").asText().equals(apiVersion)
                && r.path("kind").asText().equals(kind)).toList();
    }

    ObjectNode flinkDeploymentNode() {
        List<ObjectNode> all = ofKind("flink.apache.org/v1beta1", "FlinkDeployment");
        if (all.size() != 1) {
            throw new AssertionError(name + ": expected one FlinkDeployment, found " + all.size());
        }
        return all.get(0);
    }

    FlinkDeployment flinkDeployment() {
        return typed(flinkDeploymentNode(), FlinkDeployment.class);
    }

    /** spec.flinkVersion as written (the typed field cannot hold v2_N, see the class comment). */
    String flinkVersion() {
        return flinkDeploymentNode().path("spec").path("flinkVersion").asText();
    }

    List<KafkaTopic> topics() {
        return ofKind("kafka.strimzi.io/v1beta2", "KafkaTopic").stream().map(n -> typed(n, KafkaTopic.class))
                .toList();
    }

    List<KafkaUser> users() {
        return ofKind("kafka.strimzi.io/v1beta2", "KafkaUser").stream().map(n -> typed(n, KafkaUser.class))
                .toList();
    }

    <T> T typed(ObjectNode node, Class<T> type) {
        try {
            return STRICT.treeToValue(node, type);
        } catch (Exception e) {
            throw new AssertionError(name + ": " + Kustomize.id(node) + " does not read as " + type.getName()
                    + ": " + e.getMessage(), e);
        }
    }
}

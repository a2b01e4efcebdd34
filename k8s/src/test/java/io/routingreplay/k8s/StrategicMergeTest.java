package io.routingreplay.k8s;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The test renderer behaves like kustomize on the cases the overlays use, and refuses the rest. */
class StrategicMergeTest {

    private static ObjectNode yaml(String text) throws IOException {
        return (ObjectNode) YamlDocs.YAML.readTree(text);
    }

    @Test
    void mapsMergeScalarsReplaceAndNullDeletes() throws IOException {
        ObjectNode target = yaml("spec: {a: 1, b: {c: 2, d: 3}, e: 4}");
        StrategicMerge.merge(target, yaml("spec: {a: 9, b: {c: 8}, e: null, f: 7}"));
        assertEquals(yaml("spec: {a: 9, b: {c: 8, d: 3}, f: 7}"), target);
    }

    @Test
    void containersMergeByNameKeepingTheBasesEnvAndAddingTheOverlays() throws IOException {
        ObjectNode target = yaml("""
                containers:
                  - name: flink-main-container
                    env: [{name: A, value: "1"}]
                    volumeMounts: [{name: model, mountPath: /models, readOnly: true}]
                  - name: sidecar
                """);
        StrategicMerge.merge(target, yaml("""
                containers:
                  - name: flink-main-container
                    env: [{name: B, value: "2"}, {name: A, value: "3"}]
                    resources: {limits: {nvidia.com/gpu: 1}}
                """));
        assertEquals(yaml("""
                containers:
                  - name: flink-main-container
                    env: [{name: A, value: "3"}, {name: B, value: "2"}]
                    volumeMounts: [{name: model, mountPath: /models, readOnly: true}]
                    resources: {limits: {nvidia.com/gpu: 1}}
                  - name: sidecar
                """), target);
    }

    @Test
    void listsWithoutAnAssociativeKeyAreReplaced() throws IOException {
        ObjectNode target = yaml("{args: [a, b], tolerations: [{key: x, operator: Exists}]}");
        StrategicMerge.merge(target, yaml("{args: [c], tolerations: [{key: y, operator: Exists}]}"));
        assertEquals(yaml("{args: [c], tolerations: [{key: y, operator: Exists}]}"), target);
    }

    @Test
    void volumeMountsMergeOnMountPathAsKyamlDoes() throws IOException {
        ObjectNode target = yaml("m: [{name: a, mountPath: /x}]");
        StrategicMerge.merge(target, yaml("m: [{name: b, mountPath: /x, readOnly: true}]"));
        assertEquals(yaml("m: [{name: b, mountPath: /x, readOnly: true}]"), target);
    }

    @Test
    void patchDirectivesAreRefused() throws IOException {
        ObjectNode target = yaml("spec: {a: 1}");
        assertThrows(IllegalArgumentException.class,
                () -> StrategicMerge.merge(target, yaml("spec: {$patch: replace, a: 2}")));
    }

    @Test
    void unsupportedKustomizationFieldsAndUnmatchedPatchesFailTheRender(@org.junit.jupiter.api.io.TempDir Path dir)
            throws IOException {
        Files.writeString(dir.resolve("r.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
        Files.writeString(dir.resolve("kustomization.yaml"), "resources: [r.yaml]\nnamePrefix: x-\n");
        assertThrows(IllegalArgumentException.class, () -> Kustomize.render(dir));

        Files.writeString(dir.resolve("p.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
        Files.writeString(dir.resolve("kustomization.yaml"), "resources: [r.yaml]\npatches: [{path: p.yaml}]\n");
        assertThrows(IllegalArgumentException.class, () -> Kustomize.render(dir));

        Files.writeString(dir.resolve("p.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n");
        List<ObjectNode> out = Kustomize.render(dir);
        assertEquals("v", out.get(0).path("data").path("k").asText());
    }
}

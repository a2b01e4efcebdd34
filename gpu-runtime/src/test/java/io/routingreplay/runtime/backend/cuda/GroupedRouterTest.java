package io.routingreplay.runtime.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.model.router.SoftmaxGroupLimitedGreedy;
import io.routingreplay.runtime.model.router.SoftmaxTopK;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Which router kernel each fixture's router kind runs on, with which arguments (no GPU needed): the kernel's math
 * for those arguments is the one bench/cuda/router_bench.cu checks against its CPU reference; these are the
 * reference router kinds' parameters ({@code RouterKind}, {@code RouterMath.finish}'s epsilon per kind).
 */
class GroupedRouterTest {

    private static ModelConfig config(String fixture) {
        return ModelConfigLoader.load(Fixtures.model(fixture));
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "mixtral-tiny", "olmoe-tiny", "qwen3-moe-mixed-tiny"})
    void unscaledSoftmaxTopKWithoutGateKeepsRouterTopk(String fixture) {
        assertNull(GroupedRouter.of(config(fixture)));
    }

    @Test
    void glmRoutesBySigmoidGroupsWithScaling() {
        // n_group 4, topk_group 2, norm_topk_prob, + 1e-20 as transformers' DeepseekV3 / Glm4Moe router, x 2.5
        assertEquals(new GroupedRouter(GroupedRouter.ROUTE_SIGMOID_BIAS, 4, 2, 1, 1e-20f, 2.5f, false),
                GroupedRouter.of(config("glm4-moe-tiny")));
    }

    @Test
    void qwen2RoutesBySoftmaxTopKAndComputesTheSharedExpertGate() {
        // one group, no renormalisation (norm_topk_prob false), no epsilon, no scaling; the gate in the same kernel
        assertEquals(new GroupedRouter(GroupedRouter.ROUTE_SOFTMAX, 1, 1, 0, 0f, 1f, true),
                GroupedRouter.of(config("qwen2-moe-tiny")));
    }

    @Test
    void deepseekV3AndV2RoutersMapToTheirKinds() throws IOException {
        assertEquals(new GroupedRouter(GroupedRouter.ROUTE_SIGMOID_BIAS, 4, 2, 1, 1e-20f, 2.5f, false),
                GroupedRouter.of(config("deepseek-v3-tiny")));
        // group_limited_greedy: softmax, groups scored by their best expert; transformers 5.17's V2 never renormalises
        SoftmaxGroupLimitedGreedy v2 = (SoftmaxGroupLimitedGreedy) config("deepseek-v2-tiny").router;
        assertEquals(new GroupedRouter(GroupedRouter.ROUTE_SOFTMAX, v2.nGroup(), v2.topkGroup(), 0, 1e-20f,
                v2.routedScaling(), false), GroupedRouter.of(config("deepseek-v2-tiny")));
        // greedy: softmax top-k; the fixture's routed_scaling_factor is 1, so router_topk runs it (the same math),
        // while any other factor takes router_grouped with one group
        assertEquals(1f, ((SoftmaxTopK) config("deepseek-v2-greedy-tiny").router).routedScaling());
        assertNull(GroupedRouter.of(config("deepseek-v2-greedy-tiny")));
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(
                Fixtures.model("deepseek-v2-greedy-tiny").resolve("config.json").toFile());
        assertEquals(new GroupedRouter(GroupedRouter.ROUTE_SOFTMAX, 1, 1, 0, 0f, 16f, false),
                GroupedRouter.of(ModelConfigLoader.parse(json.put("routed_scaling_factor", 16.0), null)));
    }
}

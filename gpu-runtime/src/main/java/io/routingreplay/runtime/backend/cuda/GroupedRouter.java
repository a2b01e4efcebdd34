package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.router.RouterKind;
import io.routingreplay.runtime.model.router.SigmoidGroupLimited;
import io.routingreplay.runtime.model.router.SoftmaxGroupLimitedGreedy;
import io.routingreplay.runtime.model.router.SoftmaxTopK;

/**
 * The arguments of the {@code router_grouped} kernel (kernels/router_grouped.cuh) for a config's router kind, or
 * null where {@code router_topk} runs it: unscaled softmax top-k without a shared-expert gate (Qwen3-MoE, Mixtral,
 * OLMoE keep exactly the launches they had). Each kind maps to the kernel's math as its {@link RouterKind} reference
 * computes it: the kernel's normEps is the one {@code RouterMath.finish} adds for that kind.
 *
 * @param kind      ROUTE_SOFTMAX (0) or ROUTE_SIGMOID_BIAS (1)
 * @param nGroup    expert groups (1: no group limit)
 * @param topkGroup groups kept
 * @param normTopk  1 to renormalise the selected weights
 * @param normEps   added to the renormalisation's denominator
 * @param scaling   routed_scaling_factor
 * @param sharedGate whether the kernel also computes Qwen2-MoE's sigmoid(shared_expert_gate · x)
 */
record GroupedRouter(int kind, int nGroup, int topkGroup, int normTopk, float normEps, float scaling,
                     boolean sharedGate) {
    static final int ROUTE_SOFTMAX = 0, ROUTE_SIGMOID_BIAS = 1;
    /** kernels/router_grouped.cuh RG_MAXG. */
    static final int MAX_GROUPS = 64;

    static GroupedRouter of(ModelConfig c) {
        RouterKind r = c.router;
        boolean gate = c.sharedExpertGated;
        if (r instanceof SoftmaxTopK s) {
            if (s.routedScaling() == 1f && !gate) {
                return null;
            }
            return new GroupedRouter(ROUTE_SOFTMAX, 1, 1, s.normTopkProb() ? 1 : 0, 0f, s.routedScaling(), gate);
        }
        if (r instanceof SoftmaxGroupLimitedGreedy g) {
            return new GroupedRouter(ROUTE_SOFTMAX, g.nGroup(), g.topkGroup(), g.normTopkProb() ? 1 : 0, 1e-20f,
                    g.routedScaling(), gate);
        }
        SigmoidGroupLimited g = (SigmoidGroupLimited) r;
        return new GroupedRouter(ROUTE_SIGMOID_BIAS, g.nGroup(), g.topkGroup(), g.normTopkProb() ? 1 : 0, 1e-20f,
                g.routedScaling(), gate);
    }

    /** Why the kernel cannot run this router (its limits, kernels/router_grouped.cuh), or null. */
    String unsupported(int numExperts) {
        if (nGroup > MAX_GROUPS) {
            return "n_group " + nGroup + " is more than the CUDA router's " + MAX_GROUPS + " groups";
        }
        if (kind == ROUTE_SIGMOID_BIAS && nGroup > 1 && numExperts / nGroup < 2) {
            return "the CUDA router scores a group by its two best experts: groups of one expert are not supported";
        }
        return null;
    }
}

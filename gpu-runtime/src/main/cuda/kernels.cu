// Kernels of the CUDA backend (routing-replay). Compiled to PTX (compute_90) by compile-ptx.sh and loaded through
// JCuda's driver API (cuModuleLoadData), so every entry point is extern "C".
//
// Numerics: weights bf16, activations and accumulation fp32. The large matrix products run on the tensor cores with
// the fp32 activation split into two bf16 halves (hi + lo): the weights are exactly bf16, so W*hi + W*lo keeps about
// 16 mantissa bits of the activation — close to fp32, far inside the 1e-3 logprob tolerance. The split is done once,
// by the kernel that produces the activation ("split rows", storeSplit), not by every GEMM block that reads it.
// Batch invariance: every output element is a reduction whose order depends only on K (never on how many tokens
// share the launch or which tile a token lands in), so a request gets bit-identical results alone or in any batch.
//
// One PTX module (kernels.ptx), one concept per header under kernels/; each header includes what it uses (#pragma
// once), so a header can be read, or included by a benchmark, on its own. The order below is the order of the entry
// points in the PTX.
#include "kernels/types.cuh"          // bf16, fp8
#include "kernels/block_reduce.cuh"   // warp / block sums and maxima in a fixed order
#include "kernels/bf16_split.cuh"     // bf16 <-> fp32, split rows (the GEMMs' activation layout)
#include "kernels/kv_elements.cuh"    // K/V cache elements: fp32, bf16, fp8 e4m3 loads and stores
#include "kernels/random_weights.cuh" // fill_random_bf16 (synthetic weights)
#include "kernels/embed.cuh"          // embed
#include "kernels/rmsnorm.cuh"        // rmsnorm
#include "kernels/qk_norm_rope_kv.cuh" // qk_norm_rope_kv{,_bf16,_fp8}: q/k norm, RoPE, K/V cache write
#include "kernels/attention.cuh"      // attention{,_bf16,_fp8}, attention_combine
#include "kernels/cp_async.cuh"       // cp.async helpers
#include "kernels/attention_staged.cuh" // attention_staged_d{16,32,64,128}{,_bf16,_fp8}
#include "kernels/mla_attention.cuh"  // mla_rope_latent{,_bf16,_fp8}, mla_attention{,_bf16,_fp8}: MLA (absorbed)
#include "kernels/router_topk.cuh"    // router_topk: softmax top-k (Qwen3-MoE, OLMoE, Mixtral)
#include "kernels/router_grouped.cuh" // router_grouped: DeepSeek-V2 / V3, GLM-4.5, Qwen2-MoE (+ shared-expert gate)
#include "kernels/group_by_expert.cuh" // group_by_expert
#include "kernels/gemm.cuh"           // gemm_{store,residual,swiglu}{,_wide}: the K-split tensor-core GEMMs
// the variants with weights staged in shared memory (same results, bit for bit); needs gemm.cuh and cp_async.cuh
#include "gemm_staged.cuh"
// the output-tiled dense GEMMs for many rows (same results, bit for bit); needs gemm.cuh and cp_async.cuh
#include "gemm_tiled.cuh"
#include "kernels/moe_combine.cuh"    // moe_combine
#include "kernels/sampling.cuh"       // sample_tokens
// the parts of the architectures after Qwen3-MoE / Mixtral / OLMoE (issue 16), last so the entries above keep their place
#include "kernels/qkv_bias_rope_kv.cuh" // qkv_bias_norm_rope_kv{,_bf16,_fp8}: + q/k/v bias, partial rotary
#include "kernels/moe_combine_shared.cuh" // moe_combine_shared: routed + (gated) shared experts + residual
#include "kernels/mla_rope_kv.cuh"    // mla_rope_kv{,_bf16,_fp8}: MLA's rotated q and decompressed per-head K/V rows
#include "kernels/attention_staged_mla.cuh" // attention_staged_d192v128{,_bf16,_fp8}: staged attention, MLA's widths
// routing replay and scoring (issue 18): router_topk_forced, router_grouped_forced, score_tokens
#include "kernels/replay.cuh"
// the MoE combine fused with the next layer's attention RMSNorm (issue 14: few rows; same bits)
#include "kernels/moe_combine_norm.cuh"
// the MoE block's RMSNorm fused into router_topk (issue 14: few rows; same bits)
#include "kernels/router_norm.cuh"
// tensor-core attention for bf16 / fp8 K/V (issue 14), last so the entries above keep their place
#include "kernels/attention_tc.cuh"  // attention_tc_d{16,32,64,128}_{bf16,fp8}{,_x4}, d{64,128} _x2
// the staged attention for D 128 and exactly 8 query heads per K/V head (issue 14, v45: same bits, fewer registers)
#include "kernels/attention_staged_lean.cuh" // attention_staged_lean_d128g8{,_bf16,_fp8}
// the swap space's block copies, one launch per direction per step (issue 14), after the others so they keep their place
#include "kernels/kv_swap.cuh"   // kv_swap_out, kv_swap_in
// the MoE RMSNorm + router over tiles of tokens (issue 14: above 32 rows; same bits), after the others so they keep their place
#include "kernels/router_tiles.cuh" // router_topk_norm_tiles{,_group}

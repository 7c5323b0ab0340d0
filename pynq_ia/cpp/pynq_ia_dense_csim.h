// pynq_ia: a faster C simulation of hls4ml's dense_latency kernel, bit-identical to it.
//
// hls4ml's dense_latency multiplies every input by every weight, zero or not. In hardware that
// costs nothing for a pruned network: the weights are constants and HLS synthesis drops the
// multipliers of the zero ones. In C simulation every product is an emulated ap_fixed multiply
// (several nanoseconds each), so a network pruned to 25 % of its weights still pays for 100 %.
//
// A product by a zero weight is exactly zero, and adding zero leaves a sum unchanged, so this
// kernel multiplies only the nonzero weights, in hls4ml's order (bias first, then inputs in
// ascending order for every output), with hls4ml's product and cast: the results are the same
// bits. It is used only when __SYNTHESIS__ is not defined, so HLS synthesis compiles hls4ml's
// code untouched, and only for plain multiplications (a binary weight of 0 means -1).
// Compiling with -DPYNQ_IA_DENSE_ALL_PRODUCTS turns it off (the benchmark's baseline).
#ifndef PYNQ_IA_DENSE_CSIM_H_
#define PYNQ_IA_DENSE_CSIM_H_

#if !defined(__SYNTHESIS__) && !defined(PYNQ_IA_DENSE_ALL_PRODUCTS)
#define PYNQ_IA_SKIP_ZERO_WEIGHTS 1
#include <type_traits>

namespace nnet {
namespace pynq_ia {

// Returns false (and computes nothing) when the layer's product is not a plain multiplication.
template <class data_T, class res_T, typename CONFIG_T>
bool dense_nonzero_weights(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                           typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                           typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    typedef typename CONFIG_T::weight_t weight_t;
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::template product<data_T, weight_t> product_t;
    if (!std::is_same<product_t, nnet::product::mult<data_T, weight_t> >::value) {
        return false;
    }
    const int n_weights = CONFIG_T::n_in * CONFIG_T::n_out;
    // The nonzero weights of this layer, listed on its first call. The weights are constants of
    // the design (loaded once, before the first call); a layer configuration that comes with
    // another weight array is listed again.
    static const weight_t *listed = 0;
    static int n_nonzero = 0;
    static int weight_of[n_weights];
    static int input_of[n_weights];
    static int output_of[n_weights];
    if (listed != weights) {
        n_nonzero = 0;
        for (int index = 0; index < n_weights; index++) {
            if (weights[index] != 0) {
                weight_of[n_nonzero] = index;
                input_of[n_nonzero] = index / CONFIG_T::n_out;
                output_of[n_nonzero] = index % CONFIG_T::n_out;
                n_nonzero++;
            }
        }
        listed = weights;
    }
    accum_t acc[CONFIG_T::n_out];
    for (int iacc = 0; iacc < CONFIG_T::n_out; iacc++) {
        acc[iacc] = (accum_t)biases[iacc];
    }
    for (int k = 0; k < n_nonzero; k++) {
        accum_t mult = product_t::product(data[input_of[k]], weights[weight_of[k]]);
        acc[output_of[k]] += mult;
    }
    for (int ires = 0; ires < CONFIG_T::n_out; ires++) {
        res[ires] = cast<data_T, res_T, CONFIG_T>(acc[ires]);
    }
    return true;
}

} // namespace pynq_ia
} // namespace nnet

#endif
#endif

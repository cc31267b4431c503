// CUDA graphs (at::cuda::CUDAGraph) and the CUDA sync check. Compiled only when the LibTorch found
// has CUDA (TRADEBOT_WITH_CUDA); the API used here is the same in LibTorch 1.13 and 2.x.
#include "inference/cuda_graph.hpp"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>

namespace tb::inference {

void set_cuda_sync_check(bool on) {
  c10::cuda::warning_state().set_sync_debug_mode(on ? c10::cuda::SyncDebugMode::L_ERROR
                                                    : c10::cuda::SyncDebugMode::L_DISABLED);
}

namespace detail {
namespace {

class cuda_device_graph final : public device_graph {
 public:
  void replay() override { graph_.replay(); }
  at::cuda::CUDAGraph graph_;
};

}  // namespace

std::unique_ptr<device_graph> capture_graph(const std::function<void()>& work) {
  auto g = std::make_unique<cuda_device_graph>();
  g->graph_.capture_begin();
  try {
    work();
  } catch (...) {
    // End the capture so the stream can run eager work again; the partial graph is dropped. When
    // CUDA invalidated the capture, LibTorch's capture_end() throws: end it directly then.
    try {
      g->graph_.capture_end();
    } catch (...) {
      cudaGraph_t partial = nullptr;
      (void)cudaStreamEndCapture(at::cuda::getCurrentCUDAStream().stream(), &partial);
      if (partial) (void)cudaGraphDestroy(partial);
      (void)cudaGetLastError();
    }
    throw;
  }
  g->graph_.capture_end();
  return g;
}

}  // namespace detail
}  // namespace tb::inference

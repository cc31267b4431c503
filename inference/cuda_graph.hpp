#pragma once
// CUDA graphs and CUDA's sync check, behind a torch-free interface. The implementation
// (cuda_graph.cpp) is compiled only when the LibTorch CMake found has CUDA (TRADEBOT_WITH_CUDA,
// see inference/CMakeLists.txt); kronos_model.cpp is its only user inside inference/.
#include <functional>
#include <memory>

namespace tb::inference {

// True when this build has the CUDA graph code (the LibTorch found was built with CUDA).
bool cuda_graphs_built();

// LibTorch's CUDA sync-debug mode (c10::cuda::warning_state, the same in LibTorch 1.13 and 2.x),
// process-wide: `on` makes every host synchronisation LibTorch performs on CUDA (a blocking copy,
// .item(), a stream synchronize) throw instead of run. generate() polls its event instead of
// synchronising, so with the check on it runs only if it has no other, hidden synchronisation.
// No effect in a build without CUDA.
void set_cuda_sync_check(bool on);

namespace detail {

// One captured CUDA graph: replay() launches it on the calling thread's current stream.
class device_graph {
 public:
  virtual ~device_graph() = default;
  virtual void replay() = 0;
};

// Captures the device work `work` launches on the current stream, which must not be the default
// stream (the generating thread's pool stream is not). `work` must not synchronise with the host
// and must allocate only through LibTorch (the graph's private pool keeps those blocks, so what
// `work` leaves in tensors it captured stays valid and is rewritten by every replay). Throws
// (with CUDA's or LibTorch's message) when the capture fails; the stream is left usable.
// Only in builds with TRADEBOT_WITH_CUDA.
std::unique_ptr<device_graph> capture_graph(const std::function<void()>& work);

}  // namespace detail
}  // namespace tb::inference

// Finding the CUDA backend (cuda/backend.hpp). A shared build opens libaxon_cuda.so once, on the first
// CUDA use or device query: the path in AXON_CUDA_BACKEND if set, else the file next to libaxon.so,
// else the library search path. Without a CUDA driver (libcuda.so.1), or when the backend cannot be
// opened (not installed, or the CUDA libraries it needs are missing), axon has no CUDA device and
// asking for one raises an Error saying why. A static build links the backend in.
#ifdef AXON_HAS_CUDA
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include <axon/error.hpp>

#include "../cuda/backend.hpp"

#ifdef AXON_CUDA_BACKEND_SHARED
#include <dlfcn.h>
#include <unistd.h>
#endif

namespace axon::cuda {

namespace {
std::atomic<const Backend*> g_loaded{nullptr};
std::string g_why;  // why find_backend() found none; written once, under the once_flag

#ifdef AXON_CUDA_BACKEND_SHARED
// The directory of the library this function is in (libaxon.so), with a trailing '/'.
std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) == 0 || !info.dli_fname) return {};
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

const Backend* open_backend(std::string& why) {
  // Without the driver there is no device: a CPU-only node does not map the CUDA libraries at all.
  if (!dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    const char* e = dlerror();
    why = fmt::format("no CUDA driver ({})", e ? e : "libcuda.so.1 not found");
    return nullptr;
  }
  std::string path;
  const char* env = std::getenv("AXON_CUDA_BACKEND");
  void* lib = nullptr;
  if (env && *env) {
    path = env;
    lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
  } else {
    path = own_directory() + AXON_CUDA_BACKEND_NAME;
    lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    // Not there: try the search path. There but unusable (a CUDA library it needs is missing): say so.
    if (!lib && access(path.c_str(), F_OK) != 0) {
      path = AXON_CUDA_BACKEND_NAME;  // LD_LIBRARY_PATH, the program's run path
      lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    }
  }
  if (!lib) {
    const char* e = dlerror();
    why = fmt::format("cannot open {} ({}); AXON_CUDA_BACKEND names its path", path, e ? e : "unknown error");
    return nullptr;
  }
  auto entry = reinterpret_cast<const Backend* (*)()>(dlsym(lib, "axon_cuda_backend_v1"));
  const Backend* b = entry ? entry() : nullptr;
  if (!b || b->abi != kBackendAbi || b->table_bytes != int(sizeof(Backend))) {
    why = fmt::format("{} is not the CUDA backend of this libaxon (another build or version)", path);
    dlclose(lib);
    return nullptr;
  }
  return b;  // never closed: CUDA state lives until exit
}
#else
const Backend* open_backend(std::string&) { return axon_cuda_backend_v1(); }
#endif
}  // namespace

const Backend* loaded_backend() noexcept { return g_loaded.load(std::memory_order_acquire); }

const Backend* find_backend() {
  static std::once_flag once;
  std::call_once(once, [] { g_loaded.store(open_backend(g_why), std::memory_order_release); });
  return loaded_backend();
}

const std::string& backend_error() {
  find_backend();
  return g_why;
}

const Backend& backend() {
  const Backend* b = find_backend();
  AXON_CHECK(b, "cuda", "the CUDA backend is not available: {}", g_why);
  return *b;
}

}  // namespace axon::cuda

#endif

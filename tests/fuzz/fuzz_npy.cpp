// .npy and .npz files from hostile bytes. The first input byte picks the reader: even, read_npy; odd,
// read_npz. Either fails with axon::Error or returns arrays whose data is no larger than the file could
// hold (an .npz member inflates at most 1032:1).
#include <axon/data/npy.hpp>

#include "../npy_fixtures.hpp"
#include "fuzz_common.hpp"

using namespace axon;

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzz::seed_mode(argc, argv, [](const std::string& dir) {
    const std::string npy(1, '\0'), npz(1, '\1');
    fuzz::write_file(dir + "/f32", npy + kNpyF32);
    fuzz::write_file(dir + "/i16_fortran", npy + kNpyI16Fortran);
    fuzz::write_file(dir + "/bool", npy + kNpyBool);
    fuzz::write_file(dir + "/stored", npz + kNpzStored);
    fuzz::write_file(dir + "/deflated", npz + kNpzDeflated);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  fuzz::write_file(fuzz::scratch_path(), rest);
  const uint64_t bound = uint64_t(rest.size()) * 1032 * 2 + 64;  // i16 widened to i32: at most 2x
  try {
    if (data[0] & 1) {
      for (auto& [name, t] : data::read_npz(fuzz::scratch_path()))
        if (t.nbytes() > bound) fuzz::invariant_failed("read_npz returned more than the file can hold");
    } else {
      Tensor t = data::read_npy(fuzz::scratch_path());
      if (t.nbytes() > 2 * rest.size()) fuzz::invariant_failed("read_npy returned more than the file holds");
    }
  } catch (const Error&) {
  }
  return 0;
}

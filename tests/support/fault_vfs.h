// A fault-injecting SQLite VFS for tests: a wrapper over the default VFS whose
// writes fail on command, like a disk that fills up or goes bad. A journal
// opened as sqlite:PATH?vfs=reprise-fault goes through it.
//
//   FaultVfs::Register();                       // once per process
//   FaultVfs::Inject(FaultVfs::kDiskFull);      // every write fails now...
//   FaultVfs::Inject(FaultVfs::kIoError, 4096); // ...or after 4096 more bytes
//   FaultVfs::Clear();                          // the disk is healthy again
//
// Faults apply to every file opened through the VFS in this process (the
// database, its WAL), to writes, truncations and (for I/O errors) syncs.
#pragma once

#include <cstdint>

namespace reprise::testing {

class FaultVfs {
 public:
  static constexpr const char* kName = "reprise-fault";
  enum Fault { kNone, kDiskFull, kIoError };

  // Registers the VFS (not as the default); safe to call more than once.
  static void Register();
  // Writes fail with `fault` once `after_bytes` more bytes have been written.
  static void Inject(Fault fault, uint64_t after_bytes = 0);
  static void Clear() { Inject(kNone); }
  // Writes refused since the process started.
  static uint64_t FailedWrites();
};

}  // namespace reprise::testing

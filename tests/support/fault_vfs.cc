#include "support/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "sqlite/stacked_file.h"

namespace reprise::testing {
namespace {

std::atomic<int> g_fault{FaultVfs::kNone};
std::atomic<int64_t> g_budget{0};  // bytes still allowed before the fault bites
std::atomic<uint64_t> g_failed{0};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;

// Stacked on the default VFS (store/sqlite/stacked_file.h).
struct FaultFile {
  sqlite3_file base;
};
using Base = sqlite::PassThrough<FaultFile>;

// SQLITE_OK if a write of `n` bytes may go ahead, else the error to return.
int Check(int64_t n, int io_code) {
  int fault = g_fault.load();
  if (fault == FaultVfs::kNone) return SQLITE_OK;
  if (g_budget.fetch_sub(n) - n >= 0) return SQLITE_OK;
  g_budget.store(0);
  ++g_failed;
  return fault == FaultVfs::kDiskFull ? SQLITE_FULL : io_code;
}

int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (int rc = Check(n, SQLITE_IOERR_WRITE); rc != SQLITE_OK) return rc;
  return Base::Write(f, buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Check(0, SQLITE_IOERR_TRUNCATE); rc != SQLITE_OK) return rc;
  return Base::Truncate(f, size);
}
int Sync(sqlite3_file* f, int flags) {
  // A full disk does not fail fsync; a bad one does.
  if (g_fault.load() == FaultVfs::kIoError) {
    if (int rc = Check(0, SQLITE_IOERR_FSYNC); rc != SQLITE_OK) return rc;
  }
  return Base::Sync(f, flags);
}
// No memory-mapped I/O: every page goes through Read, and writes through Write.
int Fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int Unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

constexpr sqlite3_io_methods kMethods = [] {
  sqlite3_io_methods m = Base::Methods(3);
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  m.xFetch = Fetch;
  m.xUnfetch = Unfetch;
  return m;
}();

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  file->pMethods = nullptr;
  int rc = g_real->xOpen(g_real, name, Base::Real(file), flags, out_flags);
  if (Base::Real(file)->pMethods != nullptr) file->pMethods = &kMethods;
  return rc;
}

}  // namespace

void FaultVfs::Register() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_initialize();
    g_real = sqlite3_vfs_find(nullptr);
    g_vfs = *g_real;
    g_vfs.iVersion = g_real->iVersion;
    g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile;
    g_vfs.zName = kName;
    g_vfs.pNext = nullptr;
    g_vfs.xOpen = Open;
    sqlite3_vfs_register(&g_vfs, 0);
  });
}

void FaultVfs::Inject(Fault fault, uint64_t after_bytes) {
  g_budget.store(static_cast<int64_t>(after_bytes));
  g_fault.store(fault);
}

uint64_t FaultVfs::FailedWrites() { return g_failed.load(); }

}  // namespace reprise::testing

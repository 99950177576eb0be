#include "support/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace reprise::testing {
namespace {

std::atomic<int> g_fault{FaultVfs::kNone};
std::atomic<int64_t> g_budget{0};  // bytes still allowed before the fault bites
std::atomic<uint64_t> g_failed{0};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;

// The real file lives right after this header, in memory SQLite allocates
// (szOsFile covers both).
struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
FaultFile* F(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return F(f)->real(); }

// SQLITE_OK if a write of `n` bytes may go ahead, else the error to return.
int Check(int64_t n, int io_code) {
  int fault = g_fault.load();
  if (fault == FaultVfs::kNone) return SQLITE_OK;
  if (g_budget.fetch_sub(n) - n >= 0) return SQLITE_OK;
  g_budget.store(0);
  ++g_failed;
  return fault == FaultVfs::kDiskFull ? SQLITE_FULL : io_code;
}

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (int rc = Check(n, SQLITE_IOERR_WRITE); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Check(0, SQLITE_IOERR_TRUNCATE); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  // A full disk does not fail fsync; a bad one does.
  if (g_fault.load() == FaultVfs::kIoError) {
    if (int rc = Check(0, SQLITE_IOERR_FSYNC); rc != SQLITE_OK) return rc;
  }
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
// No memory-mapped I/O: every page goes through Read, and writes through Write.
int Fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int Unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kMethods = {
    3,        Close,     Read,        Write,          Truncate,      Sync,        FileSize,
    Lock,     Unlock,    CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
    ShmMap,   ShmLock,   ShmBarrier,  ShmUnmap,       Fetch,         Unfetch,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  FaultFile* f = F(file);
  f->base.pMethods = nullptr;
  int rc = g_real->xOpen(g_real, name, f->real(), flags, out_flags);
  if (f->real()->pMethods != nullptr) f->base.pMethods = &kMethods;
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

// The file methods of a SQLite VFS stacked on another, each passing the call
// through to the real file. SQLite allocates the stacked file's `File` header
// and the real file right after it in one piece (the stacked VFS's szOsFile
// is sizeof(File) plus the base VFS's); `File` starts with its sqlite3_file.
// A stacked VFS takes PassThrough<File>::Methods and replaces the methods it
// changes. Internal to store/ and its tests (the fault-injecting VFS).
#pragma once

#include <sqlite3.h>

namespace reprise::sqlite {

template <typename File>
struct PassThrough {
  static sqlite3_file* Real(sqlite3_file* f) {
    return reinterpret_cast<sqlite3_file*>(reinterpret_cast<File*>(f) + 1);
  }
  static const sqlite3_io_methods* M(sqlite3_file* f) { return Real(f)->pMethods; }

  static int Close(sqlite3_file* f) { return M(f)->xClose(Real(f)); }
  static int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) { return M(f)->xRead(Real(f), buf, n, off); }
  static int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
    return M(f)->xWrite(Real(f), buf, n, off);
  }
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) { return M(f)->xTruncate(Real(f), size); }
  static int Sync(sqlite3_file* f, int flags) { return M(f)->xSync(Real(f), flags); }
  static int FileSize(sqlite3_file* f, sqlite3_int64* size) { return M(f)->xFileSize(Real(f), size); }
  static int Lock(sqlite3_file* f, int level) { return M(f)->xLock(Real(f), level); }
  static int Unlock(sqlite3_file* f, int level) { return M(f)->xUnlock(Real(f), level); }
  static int CheckReservedLock(sqlite3_file* f, int* out) { return M(f)->xCheckReservedLock(Real(f), out); }
  static int FileControl(sqlite3_file* f, int op, void* arg) { return M(f)->xFileControl(Real(f), op, arg); }
  static int SectorSize(sqlite3_file* f) { return M(f)->xSectorSize(Real(f)); }
  static int DeviceCharacteristics(sqlite3_file* f) { return M(f)->xDeviceCharacteristics(Real(f)); }
  static int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
    return M(f)->xShmMap(Real(f), page, size, extend, out);
  }
  static int ShmLock(sqlite3_file* f, int offset, int n, int flags) { return M(f)->xShmLock(Real(f), offset, n, flags); }
  static void ShmBarrier(sqlite3_file* f) { M(f)->xShmBarrier(Real(f)); }
  static int ShmUnmap(sqlite3_file* f, int del) { return M(f)->xShmUnmap(Real(f), del); }
  static int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) { return M(f)->xFetch(Real(f), off, n, out); }
  static int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return M(f)->xUnfetch(Real(f), off, p); }

  // The methods of `version` (1 to 3): SQLite calls no method of a higher
  // version than a file's table says, so a stacked file takes its real
  // file's version and never calls a method the real file lacks.
  static constexpr sqlite3_io_methods Methods(int version) {
    return {version,  Close,      Read,       Write,  Truncate,          Sync,        FileSize,
            Lock,     Unlock,     CheckReservedLock,  FileControl,       SectorSize,  DeviceCharacteristics,
            ShmMap,   ShmLock,    ShmBarrier, ShmUnmap, Fetch,           Unfetch};
  }
};

}  // namespace reprise::sqlite

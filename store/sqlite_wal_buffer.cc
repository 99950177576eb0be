#include "sqlite_wal_buffer.h"

#include <sqlite3.h>

#include <type_traits>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace reprise::sqlite {
namespace {

constexpr int kFrameHeaderBytes = 24;     // a WAL frame's header (sqlite3/wal.c)
constexpr size_t kMaxGathered = 4u << 20;  // larger transactions are written in parts

// One VFS per base VFS. The real file lives right after this header, in the
// memory SQLite allocates for it (szOsFile covers both).
struct GatheringFile {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  // WAL files only. A file object is used by one connection, and so by one
  // thread at a time: no lock.
  std::vector<char>* gathered;  // nullptr for other files
  sqlite3_int64 start;          // the file offset of gathered[0]
  sqlite3_int64 end;            // the end of the log's frames written or gathered
  bool commit_next;             // the last frame header carried the commit mark
};
GatheringFile* G(sqlite3_file* f) { return reinterpret_cast<GatheringFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return G(f)->real(); }

// The most one call to the real file's xWrite may carry: SQLite's unix VFS
// writes at most 128 KiB - 1 bytes per system call (it masks larger sizes)
// and takes a write that makes no progress for a full disk.
constexpr size_t kMaxWrite = 31 * 4096;

// Writes what is gathered; SQLITE_OK or the real file's error.
int WriteOut(GatheringFile* f) {
  if (f->gathered == nullptr || f->gathered->empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->gathered->size() && rc == SQLITE_OK; done += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, f->gathered->size() - done);
    rc = f->real()->pMethods->xWrite(f->real(), f->gathered->data() + done, static_cast<int>(n),
                                     f->start + static_cast<sqlite3_int64>(done));
  }
  f->gathered->clear();
  return rc;
}

uint32_t BigEndian32(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

int Close(sqlite3_file* f) {
  int rc = WriteOut(G(f));
  delete G(f)->gathered;
  G(f)->gathered = nullptr;
  int rc2 = Real(f)->pMethods->xClose(Real(f));
  return rc != SQLITE_OK ? rc : rc2;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  if (int rc = WriteOut(G(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* file, const void* data, int n, sqlite3_int64 off) {
  GatheringFile* f = G(file);
  std::vector<char>* g = f->gathered;
  if (g == nullptr) return Real(file)->pMethods->xWrite(Real(file), data, n, off);
  // The log starts over with its header at 0. Below the end, SQLite rewrites
  // frames of the transaction in place (a page it changed again after it
  // spilled, then the checksums that follow it, the commit frame's last):
  // nothing may come after such a write to write it out, so it goes through.
  if (off == 0) f->end = 0;
  if (off < f->end) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
    return Real(file)->pMethods->xWrite(Real(file), data, n, off);
  }
  if (!g->empty() && off != f->start + static_cast<sqlite3_int64>(g->size())) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  }
  if (g->empty()) f->start = off;
  f->end = off + n;
  const auto* bytes = static_cast<const char*>(data);
  g->insert(g->end(), bytes, bytes + n);
  bool now = g->size() >= kMaxGathered;
  if (n == kFrameHeaderBytes) {
    // A frame header; its second field is non-zero on a transaction's last
    // frame, whose page comes next.
    f->commit_next = BigEndian32(bytes + 4) != 0;
  } else if (f->commit_next) {
    f->commit_next = false;
    now = true;  // the commit's last write: out before SQLite publishes the frames
  }
  return now ? WriteOut(f) : SQLITE_OK;
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = WriteOut(G(f)); rc != SQLITE_OK) return rc;
  G(f)->end = std::min(G(f)->end, size);
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = WriteOut(G(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (int rc = WriteOut(G(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return Real(f)->pMethods->xUnfetch(Real(f), off, p); }

// Version 3 of the methods; used for files whose real methods are version
// 3 too (the default VFS's are). Lower versions get the plain pass-through
// of their own methods (see Open).
const sqlite3_io_methods kMethods = {
    3,    Close,  Read,   Write,      Truncate, Sync,  FileSize,  Lock,  Unlock, CheckReservedLock,
    FileControl, SectorSize, DeviceCharacteristics, ShmMap, ShmLock, ShmBarrier, ShmUnmap, Fetch, Unfetch,
};

// The VFS: a copy of the base's (its other methods, and its pAppData, which
// they may read), but for xOpen. Standard layout: `vfs` is at its start.
struct Shim {
  sqlite3_vfs vfs;
  sqlite3_vfs* base;
};
static_assert(std::is_standard_layout_v<Shim>);
struct Registered {
  Shim shim;
  std::string name;
};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base = reinterpret_cast<Shim*>(vfs)->base;
  GatheringFile* f = G(file);
  f->base.pMethods = nullptr;
  f->gathered = nullptr;
  f->start = 0;
  f->end = 0;
  f->commit_next = false;
  int rc = base->xOpen(base, name, f->real(), flags, out_flags);
  const sqlite3_io_methods* real = f->real()->pMethods;
  if (real == nullptr) return rc;
  if (real->iVersion < 3) {
    // Not a file this VFS knows how to wrap: SQLite uses the real methods on
    // our header, which they cannot read. Refuse rather than guess.
    real->xClose(f->real());
    return SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kMethods;
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0) f->gathered = new std::vector<char>();
  return rc;
}

}  // namespace

StatusOr<std::string> WalGatheringVfs(const std::string& base_name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Registered>> registered;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = registered.find(base_name); it != registered.end()) return it->second->name;
  if (int rc = sqlite3_initialize(); rc != SQLITE_OK) {
    return Internal(std::string("sqlite3_initialize: ") + sqlite3_errstr(rc));
  }
  sqlite3_vfs* base = sqlite3_vfs_find(base_name.empty() ? nullptr : base_name.c_str());
  if (base == nullptr) {
    return InvalidArgument("SQLite has no VFS named \"" + base_name + "\"");
  }
  auto r = std::make_unique<Registered>();
  r->name = "reprise-wal+" + std::string(base->zName);
  r->shim.base = base;
  r->shim.vfs = *base;
  r->shim.vfs.szOsFile = static_cast<int>(sizeof(GatheringFile)) + base->szOsFile;
  r->shim.vfs.zName = r->name.c_str();
  r->shim.vfs.pNext = nullptr;
  r->shim.vfs.xOpen = Open;
  if (int rc = sqlite3_vfs_register(&r->shim.vfs, 0); rc != SQLITE_OK) {
    return Internal(std::string("registering a SQLite VFS: ") + sqlite3_errstr(rc));
  }
  const std::string name = r->name;
  registered.emplace(base_name, std::move(r));
  return name;
}

}  // namespace reprise::sqlite

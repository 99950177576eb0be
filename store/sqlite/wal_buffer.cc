#include "sqlite/wal_buffer.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#include "sqlite/stacked_file.h"

namespace reprise::sqlite {
namespace {

constexpr int kFrameHeaderBytes = 24;     // a WAL frame's header (sqlite3/wal.c)
constexpr int kWalWriteLock = 0;          // the WAL index's lock slot of the writer (wal.c)
constexpr size_t kMaxGathered = 4u << 20;  // larger transactions are written in parts

// One VFS per base VFS; its files are stacked on the base's
// (sqlite/stacked_file.h). A file object is used by one connection, and so
// by one thread at a time, and so are its database's and its WAL's: no lock.
struct GatheringFile {
  sqlite3_file base;
  // WAL files only.
  std::vector<char>* gathered;  // nullptr for other files
  sqlite3_int64 start;          // the file offset of gathered[0]
  sqlite3_int64 end;            // the end of the log's frames written or gathered
  bool commit_next;             // the last frame header carried the commit mark
  GatheringFile* db;            // the database file the WAL belongs to, if open here
  // Main database files only: their WAL's file while it is open, and the
  // name SQLite opened them with (the key in OpenDatabases()).
  GatheringFile* wal;
  const char* name;
};
using Base = PassThrough<GatheringFile>;
GatheringFile* G(sqlite3_file* f) { return reinterpret_cast<GatheringFile*>(f); }

// The main database files open through these VFSes, by the name pointer
// their xOpen got, which is what sqlite3_filename_database() of their WAL's
// name returns. Never destroyed: SQLite may open or close files during exit.
std::mutex& DatabasesMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::map<const char*, GatheringFile*>& OpenDatabases() {
  static auto* open = new std::map<const char*, GatheringFile*>;
  return *open;
}

// The most one call to the real file's xWrite may carry: SQLite's unix VFS
// writes at most 128 KiB - 1 bytes per system call (it masks larger sizes)
// and takes a write that makes no progress for a full disk.
constexpr size_t kMaxWrite = 31 * 4096;

// Writes what is gathered; SQLITE_OK or the real file's error. On an error
// what was not written stays gathered, so that the commit's own write-out
// fails too, even when the first failure reached SQLite through a read.
int WriteOut(GatheringFile* f) {
  std::vector<char>* g = f->gathered;
  if (g == nullptr || g->empty()) return SQLITE_OK;
  size_t done = 0;
  int rc = SQLITE_OK;
  while (done < g->size() && rc == SQLITE_OK) {
    const size_t n = std::min(kMaxWrite, g->size() - done);
    rc = Base::Write(&f->base, g->data() + done, static_cast<int>(n), f->start + static_cast<sqlite3_int64>(done));
    if (rc == SQLITE_OK) done += n;
  }
  g->erase(g->begin(), g->begin() + static_cast<std::ptrdiff_t>(done));
  f->start += static_cast<sqlite3_int64>(done);
  return rc;
}

uint32_t BigEndian32(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

int Close(sqlite3_file* file) {
  GatheringFile* f = G(file);
  int rc = WriteOut(f);
  delete f->gathered;
  f->gathered = nullptr;
  if (f->db != nullptr) f->db->wal = nullptr;
  if (f->name != nullptr) {
    std::lock_guard<std::mutex> lock(DatabasesMutex());
    OpenDatabases().erase(f->name);
    if (f->wal != nullptr) f->wal->db = nullptr;
  }
  int rc2 = Base::Close(file);
  return rc != SQLITE_OK ? rc : rc2;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  if (int rc = WriteOut(G(f)); rc != SQLITE_OK) return rc;
  return Base::Read(f, buf, n, off);
}
int Write(sqlite3_file* file, const void* data, int n, sqlite3_int64 off) {
  GatheringFile* f = G(file);
  std::vector<char>* g = f->gathered;
  if (g == nullptr) return Base::Write(file, data, n, off);
  // The log starts over with its header at 0. Below the end, SQLite rewrites
  // frames of the transaction in place (a page it changed again after it
  // spilled, then the checksums that follow it, the commit frame's last):
  // nothing may come after such a write to write it out, so it goes through.
  if (off == 0) f->end = 0;
  if (off < f->end) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
    return Base::Write(file, data, n, off);
  }
  if (!g->empty() && off != f->start + static_cast<sqlite3_int64>(g->size())) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  }
  if (g->empty()) f->start = off;
  const auto* bytes = static_cast<const char*>(data);
  try {
    g->insert(g->end(), bytes, bytes + n);
  } catch (const std::bad_alloc&) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
    return Base::Write(file, data, n, off);
  }
  f->end = off + n;
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
  return Base::Truncate(f, size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = WriteOut(G(f)); rc != SQLITE_OK) return rc;
  return Base::Sync(f, flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (int rc = WriteOut(G(f)); rc != SQLITE_OK) return rc;
  return Base::FileSize(f, size);
}
// The database file's shared-memory calls are the WAL's moments that matter
// to other connections. SQLite publishes a commit (the WAL index's header)
// after a barrier, and another connection writes to the log only once this
// one gives up the write lock: the log's gathered bytes go out first, those
// of a transaction rolled back too (as SQLite had written them when its page
// cache spilled), or they would later land over the other's frames.
void WriteOutWal(sqlite3_file* db) {
  if (GatheringFile* wal = G(db)->wal; wal != nullptr) (void)WriteOut(wal);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  if ((flags & SQLITE_SHM_UNLOCK) != 0) {
    WriteOutWal(f);
    if (GatheringFile* wal = G(f)->wal; wal != nullptr && offset == kWalWriteLock) {
      // The transaction is over; what could not be written is of one that
      // failed, and must not be written later.
      wal->gathered->clear();
    }
  }
  return Base::ShmLock(f, offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) {
  WriteOutWal(f);
  Base::ShmBarrier(f);
}

// The methods, as versions 1 to 3: a file gets the version of its real
// file's methods (see PassThrough::Methods).
constexpr sqlite3_io_methods Methods(int version) {
  sqlite3_io_methods m = Base::Methods(version);
  m.xClose = Close;
  m.xRead = Read;
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  m.xFileSize = FileSize;
  m.xShmLock = ShmLock;
  m.xShmBarrier = ShmBarrier;
  return m;
}
constexpr sqlite3_io_methods kMethods[] = {Methods(1), Methods(2), Methods(3)};

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
  *f = GatheringFile{};
  int rc = base->xOpen(base, name, Base::Real(file), flags, out_flags);
  const sqlite3_io_methods* real = Base::Real(file)->pMethods;
  if (real == nullptr) return rc;  // SQLite does not close a file it failed to open
  f->base.pMethods = &kMethods[std::clamp(real->iVersion, 1, 3) - 1];
  if (rc != SQLITE_OK || name == nullptr) return rc;
  std::lock_guard<std::mutex> lock(DatabasesMutex());
  if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
    f->name = name;
    OpenDatabases()[name] = f;
  } else if ((flags & SQLITE_OPEN_WAL) != 0) {
    // Gathered only with its database's file at hand (see ShmLock); else,
    // or without the memory, writes pass through.
    auto db = OpenDatabases().find(sqlite3_filename_database(name));
    if (db != OpenDatabases().end()) f->gathered = new (std::nothrow) std::vector<char>();
    if (f->gathered != nullptr) {
      f->db = db->second;
      f->db->wal = f;
    }
  }
  return rc;
}

}  // namespace

StatusOr<std::string> WalGatheringVfs(const std::string& base_name) {
  // Never destroyed: SQLite keeps the VFSes registered until the process ends.
  static auto* mu = new std::mutex;
  static auto* registered = new std::map<std::string, std::unique_ptr<Registered>>;
  std::lock_guard<std::mutex> lock(*mu);
  if (auto it = registered->find(base_name); it != registered->end()) return it->second->name;
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
  registered->emplace(base_name, std::move(r));
  return name;
}

}  // namespace reprise::sqlite

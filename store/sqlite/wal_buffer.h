// A SQLite VFS, stacked on another, that writes each transaction to the WAL
// file with one system call instead of two per page. Internal to store/.
//
// SQLite appends a commit to the WAL one frame at a time, a 24-byte header
// and then the page, each its own write(): a commit of 16 messages touches
// about 47 pages, so 94 system calls, most of the commit's cost on a machine
// where a system call costs microseconds (a virtual machine with page-table
// isolation). This VFS gathers the contiguous writes to a WAL file in memory
// and writes them at once when the transaction's last frame arrives (the page
// after a frame header that carries the commit mark), before SQLite publishes
// the frames to readers, and reports that write's error to the commit. Anything
// else that looks at the file (a read, a sync, its size, a truncation, a write
// elsewhere, closing it) writes out what is gathered first, and so do the
// database file's shared-memory barrier (before SQLite publishes a commit) and
// its unlocks (before another connection may write to the log: the frames a
// transaction spilled and then rolled back go out then, as SQLite had written
// them). A write below the end of the log (SQLite rewriting frames of the
// transaction in place) goes straight through: nothing may follow it. Other
// files pass through untouched.
#pragma once

#include <string>

#include "reprise/base/status.h"

namespace reprise::sqlite {

// The name of the WAL-gathering VFS over the VFS named `base` ("" for the
// default), registered on first use.
StatusOr<std::string> WalGatheringVfs(const std::string& base);

}  // namespace reprise::sqlite

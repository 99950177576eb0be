// The intent log under a Recorder in `process` durability: records whose call
// returned are found again by the next Recorder on the same log and committed
// once; a log cut anywhere in its last entry loses that entry only.
#include "intent_log.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "reprise/base/ulid.h"
#include "reprise/store/recorder.h"
#include "support/faulty_journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::FaultyJournal;
using Durability = RecorderOptions::Durability;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class IntentLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + dir_.File("r.journal"));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::make_unique<FaultyJournal>(std::move(*j));
  }

  RecorderOptions Options(const std::string& log) {
    return {.durability = Durability::kProcess, .max_queue_bytes = 1u << 20, .intent_log = log};
  }

  Message Make(int i) {
    Message m;
    m.id = ids_.Next(1700000000000);
    m.channel = "c";
    m.key = "k" + std::to_string(i);
    m.payload = "payload " + std::to_string(i);
    m.headers["h"] = std::to_string(i);
    return m;
  }

  // Records `n` messages, each with an outcome, while the journal refuses
  // every write, then stops the recorder: the records stay in the log only,
  // as after a kill -9.
  std::vector<Message> RecordUncommitted(const std::string& log, int n) {
    journal_->FailWrites(Unavailable("sqlite journal: disk I/O error"));
    std::vector<Message> made;
    {
      Recorder r(journal_.get(), Options(log));
      for (int i = 0; i < n; ++i) {
        made.push_back(Make(i));
        EXPECT_TRUE(r.Record(made.back()).ok());
        EXPECT_TRUE(r.RecordOutcome({.id = made.back().id, .outcome = Outcome::kOk}).ok());
      }
      EXPECT_EQ(r.Stats().committed, 0u);
    }
    journal_->ClearFault();
    return made;
  }

  testing::TempDir dir_;
  UlidGenerator ids_;
  std::unique_ptr<FaultyJournal> journal_;
};

TEST_F(IntentLogTest, TheNextRecorderCommitsWhatTheLogHeldOnce) {
  const std::string log = dir_.File("r.intent");
  std::vector<Message> made = RecordUncommitted(log, 200);
  for (int start = 0; start < 2; ++start) {
    Recorder r(journal_.get(), Options(log));
    EXPECT_EQ(r.Stats().recovered, start == 0 ? 400u : 0u) << "200 messages and their outcomes, once";
    EXPECT_EQ(r.Stats().torn, 0u);
  }
  auto count = journal_->real().Count("", "");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->front().count, 200u);
  for (const Message& m : made) {
    auto got = journal_->real().Get(m.id);
    ASSERT_TRUE(got.ok()) << m.id;
    EXPECT_EQ(got->message.payload, m.payload);
    EXPECT_EQ(got->message.headers, m.headers);
    EXPECT_EQ(got->message.outcome, Outcome::kOk) << "the outcome is replayed after its message";
  }
}

TEST_F(IntentLogTest, MessagesTheJournalHasAreNotWrittenAgain) {
  const std::string log = dir_.File("r.intent");
  std::vector<Message> made = RecordUncommitted(log, 20);
  // The writer committed some of them but died before releasing them.
  WriteBatch some;
  some.messages.assign(made.begin(), made.begin() + 5);
  ASSERT_TRUE(journal_->real().Write(some, false).ok());
  Recorder r(journal_.get(), Options(log));
  EXPECT_EQ(r.Stats().rejected, 0u) << "no duplicate insert was tried";
  EXPECT_EQ(r.Stats().recovered, 15u + 20u);
  EXPECT_EQ(journal_->real().Count("", "")->front().count, 20u);
  EXPECT_EQ(journal_->real().Count("outcome = ok", "")->front().count, 20u);
}

TEST_F(IntentLogTest, ALogCutAnywhereInItsLastEntryLosesThatEntryOnly) {
  const std::string log = dir_.File("r.intent");
  journal_->FailWrites(Unavailable("sqlite journal: disk I/O error"));
  std::vector<Message> made;
  {
    Recorder r(journal_.get(), Options(log));
    for (int i = 0; i < 5; ++i) {
      made.push_back(Make(i));
      ASSERT_TRUE(r.Record(made.back()).ok());
    }
  }
  const std::string bytes = ReadFile(log);
  // The entries from the ring's start (after the 4096-byte header), by size.
  size_t start = 4096, last = 0;
  for (int i = 0; i < 5; ++i) {
    uint32_t size;
    std::memcpy(&size, bytes.data() + start + 4, 4);
    ASSERT_GT(size, IntentLog::kEntryHead);
    last = start;
    start += size;
  }
  const size_t end = start;
  for (size_t cut = last; cut <= end; ++cut) {
    SCOPED_TRACE("log cut at byte " + std::to_string(cut) + " of its last entry [" + std::to_string(last) +
                 ", " + std::to_string(end) + ")");
    const std::string copy = dir_.File("cut.intent");
    WriteFile(copy, std::string_view(bytes).substr(0, cut));
    auto journal = Journal::Open("sqlite::memory:");
    ASSERT_TRUE(journal.ok());
    Recorder r(journal->get(), Options(copy));
    const RecorderStats s = r.Stats();
    EXPECT_EQ(s.recovered, cut == end ? 5u : 4u);
    EXPECT_EQ(s.torn, cut == last || cut == end ? 0u : 1u) << "a cut inside the entry is counted";
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ((*journal)->Get(made[i].id).ok(), i < 4 || cut == end) << "message " << i;
    }
  }
}

TEST_F(IntentLogTest, ACorruptEntryIsDroppedAndTheOnesAfterItKept) {
  const std::string log = dir_.File("r.intent");
  std::vector<Message> made = RecordUncommitted(log, 3);  // entries: m0, o0, m1, o1, m2, o2
  std::string bytes = ReadFile(log);
  uint32_t size;
  std::memcpy(&size, bytes.data() + 4096 + 4, 4);
  bytes[4096 + size + IntentLog::kEntryHead + 10] ^= 0x55;  // inside o0's record
  WriteFile(log, bytes);
  Recorder r(journal_.get(), Options(log));
  EXPECT_EQ(r.Stats().torn, 1u);
  EXPECT_EQ(r.Stats().recovered, 5u);
  for (const Message& m : made) EXPECT_TRUE(journal_->real().Get(m.id).ok());
}

TEST_F(IntentLogTest, ProcessCallsReturnBeforeTheCommitAndReadersSeeTheirRecords) {
  const std::string log = dir_.File("r.intent");
  Recorder r(journal_.get(), Options(log));
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      UlidGenerator ids;
      for (int i = 0; !stop.load(); ++i) {
        Message m = Make(i);
        m.id = ids.Next(1700000000000 + t);
        ASSERT_TRUE(r.Record(m).ok());
      }
    });
  }
  int misses = 0;
  for (int i = 0; i < 50; ++i) {
    Message m = Make(i);
    ASSERT_TRUE(r.Record(m).ok());
    ASSERT_TRUE(r.AwaitRecorded(10s));
    if (!journal_->real().Get(m.id).ok()) ++misses;
  }
  EXPECT_TRUE(r.WaitCommitted(r.Mark(), 10s));
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(misses, 0) << "a read after the call returned sees the record";
  EXPECT_GT(r.Stats().read_waits, 0u) << "under load some reads had to wait";
  EXPECT_EQ(r.Stats().read_wait_timeouts, 0u);
}

TEST_F(IntentLogTest, AFullLogBlocksOrDropsAsTheQueueDoes) {
  const std::string log = dir_.File("r.intent");
  journal_->HoldWrites();
  RecorderOptions o = Options(log);
  o.overload = RecorderOptions::OverloadPolicy::kDrop;
  o.max_queue_bytes = 64 * 1024;
  Recorder r(journal_.get(), o);
  int dropped = 0;
  for (int i = 0; i < 2000; ++i) {
    if (!r.Record(Make(i)).ok()) ++dropped;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(r.Stats().dropped, static_cast<uint64_t>(dropped));
  journal_->Release();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(journal_->real().Count("", "")->front().count, 2000u - dropped);
}

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c(0, "123456789", 9), 0xe3069283u);
  EXPECT_EQ(Crc32c(Crc32c(0, "1234", 4), "56789", 5), 0xe3069283u) << "continues a running crc";
}

}  // namespace
}  // namespace reprise

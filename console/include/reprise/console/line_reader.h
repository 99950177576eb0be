// Reading command lines: GNU readline on a terminal, std::getline otherwise.
#pragma once

#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "reprise/console/completion.h"

namespace reprise::console {

// Source of command lines. Implementations are not thread-safe: one reader
// per console, used from its single thread.
class LineReader {
 public:
  virtual ~LineReader() = default;
  // One line without its newline; nullopt at end of input.
  virtual std::optional<std::string> ReadLine(const std::string& prompt) = 0;
  // Remembers a complete command (possibly joined from several lines).
  virtual void AddHistory(const std::string& entry) = 0;
  // True when the user pressed Ctrl-C while the last ReadLine was waiting
  // (the line was abandoned and ReadLine returned an empty line).
  virtual bool interrupted() const { return false; }
};

// Reads one command, joining continuation lines (a trailing backslash, or
// an open quote) into one entry; `continuation_prompt` is shown for the
// following lines. nullopt at end of input.
std::optional<std::string> ReadCommand(LineReader& reader, const std::string& prompt,
                                       const std::string& continuation_prompt);

// Lines from a stream (standard input in scripts); no prompt, no history.
class StreamLineReader : public LineReader {
 public:
  explicit StreamLineReader(std::istream& in) : in_(in) {}
  std::optional<std::string> ReadLine(const std::string& prompt) override;
  void AddHistory(const std::string&) override {}

 private:
  std::istream& in_;
};

// What completion asks of the console: candidates for the line up to the
// cursor.
using CompletionFunction = std::function<Completion(std::string_view line_before_cursor)>;

// GNU readline with a persistent history file and tab completion. Readline
// is process-global state, so at most one instance may exist at a time;
// not thread-safe. Ctrl-C abandons the current line instead of ending the
// process.
class ReadlineLineReader : public LineReader {
 public:
  // `history_path` may be empty (no persistent history). The file is created
  // with mode 0600: commands can contain account keys.
  ReadlineLineReader(std::string history_path, CompletionFunction complete);
  ~ReadlineLineReader() override;
  ReadlineLineReader(const ReadlineLineReader&) = delete;
  ReadlineLineReader& operator=(const ReadlineLineReader&) = delete;

  std::optional<std::string> ReadLine(const std::string& prompt) override;
  void AddHistory(const std::string& entry) override;
  bool interrupted() const override { return interrupted_; }

 private:
  std::string history_path_;
  CompletionFunction complete_;
  bool interrupted_ = false;
};

// The history file: $REPRISE_HISTORY when set, else ~/.reprise_history
// (empty when there is no home directory).
std::string DefaultHistoryPath();

}  // namespace reprise::console

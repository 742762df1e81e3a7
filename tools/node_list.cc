#include "tools/node_list.h"

#include <cstdint>
#include <unordered_set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tessera {
namespace {

bool IsHostChar(char c) { return absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '_'; }
bool IsSeparator(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string Printable(char c) {
  if (absl::ascii_isprint(c)) return absl::StrCat("'", std::string(1, c), "'");
  return absl::StrCat("byte 0x", absl::Hex(static_cast<unsigned char>(c)));
}

// Walks the text once, tracking line and column for error messages.
class NodeListParser {
 public:
  NodeListParser(absl::string_view text, absl::string_view source)
      : text_(text), source_(source) {}

  absl::StatusOr<std::vector<std::string>> Parse() {
    std::vector<std::string> hosts;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (IsSeparator(c)) {
        Advance();
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') Advance();
      } else {
        absl::Status status = ParseTerm(&hosts);
        if (!status.ok()) return status;
      }
    }
    if (hosts.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ": no host names in the node list (it is empty)"));
    }
    return hosts;
  }

 private:
  void Advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  absl::Status Error(absl::string_view what) const { return ErrorAt(line_, column_, what); }
  absl::Status ErrorAt(int line, int column, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": line ", line, ", column ", column, ": ", what));
  }

  // One term: literal text and bracket groups up to a separator; appends its
  // expansion to `hosts`.
  absl::Status ParseTerm(std::vector<std::string>* hosts) {
    const int line = line_, column = column_;
    std::vector<std::vector<std::string>> parts;  // each part: its choices
    int64_t combinations = 1;
    while (pos_ < text_.size() && !IsSeparator(text_[pos_]) && text_[pos_] != '#') {
      std::vector<std::string> choices;
      if (text_[pos_] == '[') {
        absl::Status status = ParseGroup(&choices);
        if (!status.ok()) return status;
      } else if (IsHostChar(text_[pos_])) {
        std::string literal;
        while (pos_ < text_.size() && IsHostChar(text_[pos_])) {
          literal += text_[pos_];
          Advance();
        }
        choices.push_back(std::move(literal));
      } else if (text_[pos_] == ']') {
        return Error("']' without a matching '['");
      } else {
        return Error(absl::StrCat("unexpected ", Printable(text_[pos_]),
                                  " (host names hold letters, digits, '.', '-' and '_')"));
      }
      combinations *= static_cast<int64_t>(choices.size());
      if (combinations + static_cast<int64_t>(hosts->size()) > kMaxNodeListHosts) {
        return Error(absl::StrCat("the list expands to more than ", kMaxNodeListHosts, " hosts"));
      }
      parts.push_back(std::move(choices));
    }
    std::vector<std::string> expanded = {""};
    for (const std::vector<std::string>& choices : parts) {
      std::vector<std::string> next;
      next.reserve(expanded.size() * choices.size());
      for (const std::string& prefix : expanded) {
        for (const std::string& choice : choices) next.push_back(prefix + choice);
      }
      expanded = std::move(next);
    }
    for (std::string& host : expanded) {
      if (host.front() == '-' || host.front() == '.') {
        return ErrorAt(line, column, absl::StrCat("host name \"", host, "\" starts with '",
                                                  host.substr(0, 1), "'"));
      }
      hosts->push_back(std::move(host));
    }
    return absl::OkStatus();
  }

  // "[" item ("," item)* "]" with the cursor on "[".
  absl::Status ParseGroup(std::vector<std::string>* choices) {
    Advance();  // '['
    while (true) {
      absl::Status status = ParseItem(choices);
      if (!status.ok()) return status;
      if (pos_ >= text_.size() || text_[pos_] == '\n') return Error("'[' is not closed by ']'");
      if (text_[pos_] == ']') {
        Advance();
        return absl::OkStatus();
      }
      if (text_[pos_] != ',') {
        return Error(absl::StrCat("unexpected ", Printable(text_[pos_]),
                                  " in brackets (want digits, '-', ',' or ']')"));
      }
      Advance();
    }
  }

  absl::StatusOr<std::string> ParseNumber() {
    std::string digits;
    while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) {
      digits += text_[pos_];
      Advance();
    }
    if (digits.empty()) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') return Error("'[' is not closed by ']'");
      return Error(absl::StrCat("expected a number in brackets, found ",
                                Printable(text_[pos_])));
    }
    if (digits.size() > 9) return Error(absl::StrCat("number ", digits, " is too long"));
    return digits;
  }

  // NUM or NUM "-" NUM.
  absl::Status ParseItem(std::vector<std::string>* choices) {
    const int line = line_, column = column_;
    absl::StatusOr<std::string> low = ParseNumber();
    if (!low.ok()) return low.status();
    if (pos_ >= text_.size() || text_[pos_] != '-') {
      choices->push_back(*low);
      return absl::OkStatus();
    }
    Advance();  // '-'
    absl::StatusOr<std::string> high = ParseNumber();
    if (!high.ok()) return high.status();
    int lo = 0, hi = 0;
    (void)absl::SimpleAtoi(*low, &lo);  // at most 9 digits: always fits
    (void)absl::SimpleAtoi(*high, &hi);
    if (lo > hi) {
      return ErrorAt(line, column, absl::StrCat("range ", *low, "-", *high, " runs backwards"));
    }
    if (hi - lo >= kMaxNodeListHosts) {
      return ErrorAt(line, column, absl::StrCat("range ", *low, "-", *high, " has more than ",
                                                kMaxNodeListHosts, " numbers"));
    }
    for (int n = lo; n <= hi; ++n) {
      std::string number = absl::StrCat(n);
      if (number.size() < low->size()) number.insert(0, low->size() - number.size(), '0');
      choices->push_back(std::move(number));
    }
    return absl::OkStatus();
  }

  const absl::string_view text_;
  const absl::string_view source_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseNodeList(absl::string_view text,
                                                       absl::string_view source) {
  return NodeListParser(text, source).Parse();
}

std::vector<std::string> UniqueHosts(const std::vector<std::string>& hosts) {
  std::vector<std::string> unique;
  std::unordered_set<std::string> seen;
  for (const std::string& host : hosts) {
    if (seen.insert(host).second) unique.push_back(host);
  }
  return unique;
}

}  // namespace tessera

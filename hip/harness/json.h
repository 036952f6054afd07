// A small strict JSON reader (RFC 8259) for safetensors headers and contract metadata: objects
// keep their keys in file order and reject duplicates (found by hashing, so a hostile header of
// many keys costs linear time); numbers keep their source text so that integers up to 2^64 and
// doubles both read exactly. Nesting depth and members per object or array are bounded (Bounds),
// so no input can overflow the stack. Errors throw JsonError with the byte offset. The twin in
// TypeScript is src/fixtures/strictJson.ts; fuzz/ checks that both give the same verdicts.
#ifndef ULPWISE_JSON_H
#define ULPWISE_JSON_H

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ulpwise::json {

class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Value {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  /** number: the literal as written; string: the decoded UTF-8 text. */
  std::string text;
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;

  bool isNull() const { return kind == Kind::null; }
  bool isObject() const { return kind == Kind::object; }
  bool isArray() const { return kind == Kind::array; }
  bool isString() const { return kind == Kind::string; }
  bool isNumber() const { return kind == Kind::number; }

  /** The member named `key`, or nullptr (objects only). */
  const Value* find(const std::string& key) const {
    for (const auto& member : members) {
      if (member.first == key) return &member.second;
    }
    return nullptr;
  }

  /** A non-negative integer literal (no fraction, no exponent) that fits in uint64_t. */
  bool asUint64(uint64_t& out) const {
    if (kind != Kind::number || text.empty() || text[0] == '-') return false;
    for (char c : text) {
      if (c < '0' || c > '9') return false;
    }
    errno = 0;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return false;
    out = value;
    return true;
  }

  /** The number as the nearest double (strtod is correctly rounded in glibc). */
  double asDouble() const { return std::strtod(text.c_str(), nullptr); }
};

/** Limits on a document's shape: objects and arrays nested deeper than maxDepth (the top level
 *  is depth 1), or holding more than maxMembers members or items, are refused. */
struct Bounds {
  int maxDepth = 64;
  size_t maxMembers = 1u << 20;
};

/** The length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629: no overlong
 *  forms, no surrogates, at most U+10FFFF), or 0 when none starts there. */
inline size_t utf8SequenceLength(const std::string& text, size_t i) {
  const auto at = [&text](size_t k) { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u; };
  const unsigned c = at(i);
  const auto cont = [&at](size_t k) { return (at(k) & 0xc0u) == 0x80u; };
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const unsigned n = at(i + 1);
    const bool ok = (c == 0xe0 ? n >= 0xa0 && n <= 0xbf : c == 0xed ? n >= 0x80 && n <= 0x9f : cont(i + 1)) && cont(i + 2);
    return ok ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const unsigned n = at(i + 1);
    const bool ok = (c == 0xf0 ? n >= 0x90 && n <= 0xbf : c == 0xf4 ? n >= 0x80 && n <= 0x8f : cont(i + 1)) && cont(i + 2) && cont(i + 3);
    return ok ? 4 : 0;
  }
  return 0;
}

/** A JSON string literal for `text` (quotes included), fit for a one-line message: control
 *  characters, DEL, the C1 controls (UTF-8 C2 80..C2 9F) and U+2028/U+2029 are escaped, so a
 *  hostile name cannot move a terminal's cursor or hide text; bytes that are not UTF-8 print
 *  as \xNN. */
inline std::string quote(const std::string& text) {
  std::string out = "\"";
  auto escape = [&out](const char* format, unsigned value) {
    char buffer[12];
    std::snprintf(buffer, sizeof buffer, format, value);
    out += buffer;
  };
  for (size_t i = 0; i < text.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const unsigned char next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    const unsigned char third = i + 2 < text.size() ? static_cast<unsigned char>(text[i + 2]) : 0;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      escape("\\u%04x", c);
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      escape("\\u%04x", next);
      i++;
    } else if (c == 0xe2 && next == 0x80 && (third == 0xa8 || third == 0xa9)) {
      escape("\\u%04x", 0x2000u | third);
      i += 2;
    } else if (c >= 0x80) {
      // A whole UTF-8 sequence is copied; a byte that starts none (or a broken one) prints as \xNN.
      const size_t length = utf8SequenceLength(text, i);
      if (length == 0) {
        escape("\\x%02x", c);
      } else {
        out.append(text, i, length);
        i += length - 1;
      }
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}



namespace detail {

class Parser {
 public:
  Parser(const std::string& text, Bounds bounds) : text_(text), bounds_(bounds) {}

  Value parseDocument() {
    Value value = parseValue(1);
    skipSpace();
    if (at_ != text_.size()) fail("unexpected text after the JSON value");
    return value;
  }

 private:
  const std::string& text_;
  const Bounds bounds_;
  size_t at_ = 0;

  [[noreturn]] void fail(const std::string& problem) const {
    throw JsonError("JSON at byte " + std::to_string(at_) + ": " + problem);
  }

  void skipSpace() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) at_++;
  }

  bool consume(char c) {
    skipSpace();
    if (at_ < text_.size() && text_[at_] == c) {
      at_++;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }

  void expectWord(const char* word) {
    for (const char* p = word; *p; p++, at_++) {
      if (at_ >= text_.size() || text_[at_] != *p) fail(std::string("expected '") + word + "'");
    }
  }

  Value parseValue(int depth) {
    skipSpace();
    if (at_ >= text_.size()) fail("unexpected end of text");
    Value value;
    const char c = text_[at_];
    if ((c == '{' || c == '[') && depth > bounds_.maxDepth) fail("nested deeper than " + std::to_string(bounds_.maxDepth) + " levels");
    if (c == '{') {
      at_++;
      value.kind = Value::Kind::object;
      if (consume('}')) return value;
      std::unordered_set<std::string> keys;
      do {
        skipSpace();
        if (at_ >= text_.size() || text_[at_] != '"') fail("expected a string key");
        std::string key = parseString();
        if (!keys.insert(key).second) fail("duplicate key " + quote(key));
        if (value.members.size() == bounds_.maxMembers) fail("more than " + std::to_string(bounds_.maxMembers) + " members in one object");
        expect(':');
        value.members.emplace_back(std::move(key), parseValue(depth + 1));
      } while (consume(','));
      expect('}');
    } else if (c == '[') {
      at_++;
      value.kind = Value::Kind::array;
      if (consume(']')) return value;
      do {
        if (value.items.size() == bounds_.maxMembers) fail("more than " + std::to_string(bounds_.maxMembers) + " items in one array");
        value.items.push_back(parseValue(depth + 1));
      } while (consume(','));
      expect(']');
    } else if (c == '"') {
      value.kind = Value::Kind::string;
      value.text = parseString();
    } else if (c == 't') {
      expectWord("true");
      value.kind = Value::Kind::boolean;
      value.boolean = true;
    } else if (c == 'f') {
      expectWord("false");
      value.kind = Value::Kind::boolean;
    } else if (c == 'n') {
      expectWord("null");
    } else {
      value.kind = Value::Kind::number;
      value.text = parseNumber();
    }
    return value;
  }

  std::string parseNumber() {
    const size_t start = at_;
    auto digits = [&] {
      const size_t from = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') at_++;
      return at_ - from;
    };
    if (at_ < text_.size() && text_[at_] == '-') at_++;
    if (at_ < text_.size() && text_[at_] == '0') {
      at_++;
    } else if (digits() == 0) {
      fail("invalid number");
    }
    if (at_ < text_.size() && text_[at_] == '.') {
      at_++;
      if (digits() == 0) fail("invalid number: no digits after '.'");
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      at_++;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) at_++;
      if (digits() == 0) fail("invalid number: no exponent digits");
    }
    return text_.substr(start, at_ - start);
  }

  unsigned hexQuad() {
    if (at_ + 4 > text_.size()) fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; i++, at_++) {
      const char c = text_[at_];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
      else fail("invalid \\u escape");
    }
    return value;
  }

  static void appendUtf8(std::string& out, unsigned codePoint) {
    if (codePoint < 0x80) {
      out += static_cast<char>(codePoint);
    } else if (codePoint < 0x800) {
      out += static_cast<char>(0xc0 | (codePoint >> 6));
      out += static_cast<char>(0x80 | (codePoint & 0x3f));
    } else if (codePoint < 0x10000) {
      out += static_cast<char>(0xe0 | (codePoint >> 12));
      out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (codePoint & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (codePoint >> 18));
      out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (codePoint & 0x3f));
    }
  }

  std::string parseString() {
    at_++;  // opening quote
    std::string out;
    for (;;) {
      if (at_ >= text_.size()) fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[at_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated escape");
      const char e = text_[at_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned codePoint = hexQuad();
          if (codePoint >= 0xd800 && codePoint < 0xdc00) {
            if (at_ + 2 > text_.size() || text_[at_] != '\\' || text_[at_ + 1] != 'u') fail("unpaired surrogate");
            at_ += 2;
            const unsigned low = hexQuad();
            if (low < 0xdc00 || low >= 0xe000) fail("unpaired surrogate");
            codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
          } else if (codePoint >= 0xdc00 && codePoint < 0xe000) {
            fail("unpaired surrogate");
          }
          appendUtf8(out, codePoint);
          break;
        }
        default: fail(std::string("invalid escape \\") + e);
      }
    }
  }
};

}  // namespace detail

inline Value parse(const std::string& text, Bounds bounds = Bounds{}) { return detail::Parser(text, bounds).parseDocument(); }

}  // namespace ulpwise::json

#endif  // ULPWISE_JSON_H

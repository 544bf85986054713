import Foundation

/// BERT's tokenizer: the basic pre-tokenizer (clean text, isolate CJK ideographs, lowercase,
/// strip accents, split on whitespace and punctuation) and greedy longest-match WordPiece
/// with `##` continuations, from a Hugging Face `tokenizer.json`.
public final class WordPieceTokenizer: @unchecked Sendable {
  public let vocabulary: [String: Int]
  public let lowercase: Bool
  public let stripAccents: Bool
  public let unknown: Int
  public let classification: Int
  public let separator: Int
  public let maxInputCharactersPerWord: Int

  public init(tokenizerJSON path: String) throws {
    guard let data = FileManager.default.contents(atPath: path),
      let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
      let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int]
    else { throw EmbeddingError.badTokenizer(path: path, reason: "needs model.vocab") }
    guard (model["type"] as? String) == "WordPiece" else {
      throw EmbeddingError.badTokenizer(path: path, reason: "model.type is not WordPiece")
    }
    vocabulary = vocab
    let normalizer = root["normalizer"] as? [String: Any] ?? [:]
    lowercase = normalizer["lowercase"] as? Bool ?? true
    // BERT strips accents whenever it lowercases, unless told otherwise.
    stripAccents = normalizer["strip_accents"] as? Bool ?? lowercase
    maxInputCharactersPerWord = model["max_input_chars_per_word"] as? Int ?? 100
    func id(_ token: String) throws -> Int {
      guard let i = vocab[token] else { throw EmbeddingError.badTokenizer(path: path, reason: "no \(token) token") }
      return i
    }
    unknown = try id(model["unk_token"] as? String ?? "[UNK]")
    classification = try id("[CLS]")
    separator = try id("[SEP]")
  }

  /// `[CLS] tokens… [SEP]`, truncated to `maxLength` ids in all.
  public func encode(_ text: String, maxLength: Int = 256) -> [Int] {
    var ids = [classification]
    for word in basicTokens(text) {
      ids.append(contentsOf: wordPiece(word))
      if ids.count >= maxLength - 1 { break }
    }
    return Array(ids.prefix(maxLength - 1)) + [separator]
  }

  func basicTokens(_ text: String) -> [String] {
    var cleaned = String.UnicodeScalarView()
    for s in text.unicodeScalars {
      if s.value == 0 || s.value == 0xFFFD || isControl(s) { continue }
      if s.properties.isWhitespace {
        cleaned.append(" ")
      } else if isCJK(s) {
        cleaned.append(" ")
        cleaned.append(s)
        cleaned.append(" ")
      } else {
        cleaned.append(s)
      }
    }
    var normalized = String(cleaned)
    if lowercase { normalized = normalized.lowercased() }
    if stripAccents {
      normalized = String(
        String.UnicodeScalarView(
          normalized.decomposedStringWithCanonicalMapping.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }))
    }
    var words: [String] = []
    var current = String.UnicodeScalarView()
    func flush() {
      if !current.isEmpty { words.append(String(current)) }
      current = String.UnicodeScalarView()
    }
    for s in normalized.unicodeScalars {
      if s.properties.isWhitespace {
        flush()
      } else if isPunctuation(s) {
        flush()
        words.append(String(Character(s)))
      } else {
        current.append(s)
      }
    }
    flush()
    return words
  }

  func wordPiece(_ word: String) -> [Int] {
    let scalars = Array(word.unicodeScalars)
    if scalars.count > maxInputCharactersPerWord { return [unknown] }
    var ids: [Int] = []
    var start = 0
    while start < scalars.count {
      var end = scalars.count
      var found: Int? = nil
      while start < end {
        var piece = String(String.UnicodeScalarView(scalars[start..<end]))
        if start > 0 { piece = "##" + piece }
        if let id = vocabulary[piece] {
          found = id
          break
        }
        end -= 1
      }
      guard let found else { return [unknown] }
      ids.append(found)
      start = end
    }
    return ids
  }

  private func isControl(_ s: Unicode.Scalar) -> Bool {
    if s == "\t" || s == "\n" || s == "\r" { return false }
    switch s.properties.generalCategory {
    case .control, .format: return true
    default: return false
    }
  }

  private func isPunctuation(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
    switch s.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation,
      .otherPunctuation:
      return true
    default: return false
    }
  }

  private func isCJK(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    return (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
      || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
      || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
  }
}

public enum EmbeddingError: Error, CustomStringConvertible, Equatable {
  case badTokenizer(path: String, reason: String)
  case missingFile(String)

  public var description: String {
    switch self {
    case .badTokenizer(let path, let reason): "\(path) is not a usable WordPiece tokenizer.json: \(reason)"
    case .missingFile(let path): "\(path) is missing; run scripts/setup.sh"
    }
  }
}

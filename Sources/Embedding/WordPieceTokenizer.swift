import Foundation
import LM

/// BERT's tokenizer: the basic pre-tokenizer (clean text, isolate CJK ideographs, lowercase,
/// strip accents, split on whitespace and punctuation) and greedy longest-match WordPiece
/// with `##` continuations, from a Hugging Face `tokenizer.json`.
public final class WordPieceTokenizer: Sendable {
  /// Token ids by the token's UTF-8 bytes; ids run 0..<count.
  public let vocabulary: [[UInt8]: Int]
  public let lowercase: Bool
  public let stripAccents: Bool
  public let unknown: Int
  public let classification: Int
  public let separator: Int
  public let maxInputCharactersPerWord: Int

  public init(tokenizerJSON path: String) throws {
    func fail(_ why: String) -> EmbeddingError { .badTokenizer(path: path, reason: why) }
    guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot be read") }
    let json: ExactJSON
    do { json = try ExactJSON.parse([UInt8](data)) } catch { throw fail("\(error)") }
    let members = json.members ?? []
    guard let modelMembers = members.first(where: { $0.key == "model" })?.value.members,
      let vocabMembers = modelMembers.first(where: { $0.key == "vocab" })?.value.members
    else { throw fail("needs model.vocab") }
    var root: [String: Any] = [:]
    for (key, value) in members where key != "model" { root[key] = value.foundation }
    var model: [String: Any] = [:]
    for (key, value) in modelMembers where key != "vocab" { model[key] = value.foundation }
    guard (model["type"] as? String) == "WordPiece" else { throw fail("model.type is not WordPiece") }
    var vocab: [[UInt8]: Int] = [:]
    for (token, value) in vocabMembers {
      // Every id must name a row of the embedding: 0..<count, each once.
      guard case .integer(let id) = value, (0..<vocabMembers.count).contains(id) else {
        throw fail("model.vocab entry '\(token)' is not an id in 0..<\(vocabMembers.count)")
      }
      vocab[Array(token.utf8)] = id
    }
    guard Set(vocab.values).count == vocabMembers.count else { throw fail("model.vocab ids repeat or tokens repeat") }
    vocabulary = vocab
    let normalizer = root["normalizer"] as? [String: Any] ?? [:]
    lowercase = normalizer["lowercase"] as? Bool ?? true
    // BERT strips accents whenever it lowercases, unless told otherwise.
    stripAccents = normalizer["strip_accents"] as? Bool ?? lowercase
    maxInputCharactersPerWord = model["max_input_chars_per_word"] as? Int ?? 100
    func id(_ token: String) throws -> Int {
      guard let i = vocab[Array(token.utf8)] else { throw fail("no \(token) token") }
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
        if let id = vocabulary[Array(piece.utf8)] {
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

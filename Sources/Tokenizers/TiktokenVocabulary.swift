import Foundation
import ModelFiles

extension BPETokenizer {
  /// A tiktoken vocabulary: token i is the byte string of rank i, and BPE merges, lowest rank
  /// first, every adjacent pair whose concatenation is a token (the merge's rank is that token's).
  /// Special tokens take the ids given.
  ///
  /// - Parameters:
  ///   - ranks: the byte strings in rank order (rank = id).
  ///   - specialTokens: each special token's text and id (ids at or past `ranks.count`).
  public convenience init(
    tiktokenRanks ranks: [[UInt8]], specialTokens: [(text: String, id: Int)], preTokenizer: PreTokenizer,
    endOfSequence: Int
  ) throws {
    let count = max(ranks.count, (specialTokens.map(\.id).max() ?? -1) + 1)
    var tokens = [String](repeating: "", count: count)
    var types = [Int](repeating: 1, count: count)
    func alphabet(_ bytes: some Sequence<UInt8>) -> String {
      var s = String.UnicodeScalarView()
      for b in bytes { s.append(ByteLevelAlphabet.scalarForByte[Int(b)]) }
      return String(s)
    }
    var rankOf: [[UInt8]: Int] = [:]
    for (i, bytes) in ranks.enumerated() {
      tokens[i] = alphabet(bytes)
      rankOf[bytes] = i
    }
    for (text, id) in specialTokens {
      guard id >= ranks.count else { throw ModelError.unsupportedTokenizer("special token \(text) reuses id \(id)") }
      tokens[id] = text
      types[id] = 3
    }
    // Merges in rank order of the merged token: each split of a token into two tokens.
    var merges: [String] = []
    for bytes in ranks where bytes.count > 1 {
      for k in 1..<bytes.count where rankOf[Array(bytes[..<k])] != nil && rankOf[Array(bytes[k...])] != nil {
        merges.append(alphabet(bytes[..<k]) + " " + alphabet(bytes[k...]))
      }
    }
    try self.init(
      tokens: tokens, merges: merges, tokenTypes: types, endOfSequence: endOfSequence, beginOfSequence: nil,
      preTokenizer: preTokenizer, ignoresMerges: true)
  }

  /// Reads a `.tiktoken` file: one `base64(token) rank` line per token, ranks 0, 1, 2, … .
  public static func tiktokenRanks(path: String) throws -> [[UInt8]] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw ModelError.badCheckpoint(path: path, reason: "cannot be read as text")
    }
    var ranks: [[UInt8]] = []
    for (n, line) in text.split(separator: "\n").enumerated() {
      let fields = line.split(separator: " ")
      guard fields.count == 2, let data = Data(base64Encoded: String(fields[0])), Int(fields[1]) == ranks.count else {
        throw ModelError.badCheckpoint(path: path, reason: "line \(n + 1) is not 'base64 rank' in rank order")
      }
      ranks.append([UInt8](data))
    }
    return ranks
  }
}

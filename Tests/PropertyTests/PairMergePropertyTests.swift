import LM
import TestSupport
import XCTest

/// ``PairMerge`` (the heap behind BPE and SentencePiece) against the definition it replaces:
/// rescan every adjacent pair after each merge and take the lowest priority, leftmost on ties.
final class PairMergePropertyTests: XCTestCase {
  /// The rescanning loop the tokenizers ran before, O(n²) in the length of a piece.
  private func rescanning(_ symbols: [Int], _ table: [Int: (priority: Int, merged: Int)]) -> [Int] {
    var s = symbols
    while s.count > 1 {
      var best: (priority: Int, index: Int, merged: Int)?
      for i in 0..<(s.count - 1) {
        if let m = table[s[i] << 20 | s[i + 1]], best == nil || m.priority < best!.priority { best = (m.priority, i, m.merged) }
      }
      guard let best else { break }
      s[best.index] = best.merged
      s.remove(at: best.index + 1)
    }
    return s
  }

  /// Random merge tables over a small alphabet, with many equal priorities (ties) and merges whose
  /// results merge again, on random sequences up to 300 symbols and runs of one symbol.
  func testEqualsRescanningEveryMerge() {
    var r = RandomInput()
    for c in 0..<RandomInput.cases / 4 {
      let alphabet = r.int(1...6)
      var table: [Int: (priority: Int, merged: Int)] = [:]
      var symbolCount = alphabet
      for _ in 0..<r.int(0...40) {
        let (a, b) = (r.int(0...(symbolCount - 1)), r.int(0...(symbolCount - 1)))
        guard table[a << 20 | b] == nil else { continue }
        table[a << 20 | b] = (r.int(0...(r.bool() ? 3 : 1000)), symbolCount)
        symbolCount += 1
      }
      let sequence: [Int] =
        c % 10 == 0
        ? Array(repeating: r.int(0...(alphabet - 1)), count: r.int(0...300))
        : (0..<r.int(0...300)).map { _ in r.int(0...(alphabet - 1)) }
      let merged = PairMerge.run(sequence) { table[$0 << 20 | $1] }
      XCTAssertEqual(merged, rescanning(sequence, table), "case \(c): \(sequence.count) symbols, \(table.count) merges")
    }
  }

  /// The tokenizer's long piece: 20,000 x's are one pre-tokenized word for SmolLM2's byte-level BPE.
  /// The rescanning loop (before 2026-12-07; it took 1.3 s here) gave 5,000 copies of "xxxx":
  /// leftmost-first merging tiles a run of one letter from the left.
  func testALongWordMergesAsTheRescanningLoopDid() throws {
    let tokenizer = try DecoderModel(path: Fixtures.modelPath).tokenizer
    let ids = tokenizer.encode(String(repeating: "x", count: 20_000), parseSpecial: false)
    XCTAssertEqual(ids.count, 5000)
    XCTAssertEqual(Set(ids).count, 1)
    XCTAssertEqual(tokenizer.decode(Array(ids.prefix(1))), "xxxx")
  }
}

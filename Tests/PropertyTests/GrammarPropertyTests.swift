import CLICommon
import Foundation
import Steering
import XCTest

/// The small grammars of the command lines, against random strings: each is parsed exactly (what an
/// independent regular-expression oracle accepts, and nothing else) or refused with a one-line
/// error, and printing a parsed value parses back to the same value. `RandomInput.cases` cases each,
/// from `RandomInput.seed`.
final class GrammarPropertyTests: XCTestCase {
  private func matches(_ pattern: String, _ text: String) -> Bool {
    let regex = try! NSRegularExpression(pattern: "^(?:\(pattern))\\z")
    let ns = text as NSString
    return regex.firstMatch(in: text, range: NSRange(location: 0, length: ns.length)) != nil
  }

  private func assertOneLine(_ error: any Error, _ input: String, file: StaticString = #filePath, line: UInt = #line) {
    let message = "\(error)"
    XCTAssertFalse(message.isEmpty, "empty error for \(input.debugDescription)", file: file, line: line)
    XCTAssertFalse(message.dropLast().contains("\n"), "a multi-line error for \(input.debugDescription): \(message)", file: file, line: line)
  }

  /// A near-miss generator for a grammar: pieces of valid inputs and characters that break them.
  private func candidates(_ alphabet: [String], valid: (inout RandomInput) -> String) -> [String] {
    var r = RandomInput()
    return (0..<RandomInput.cases).map { i in
      switch i % 3 {
      case 0: return valid(&r)
      case 1: return r.text(from: alphabet)
      default:
        // A valid input with one character inserted, removed or replaced.
        var s = Array(valid(&r).unicodeScalars)
        let at = r.int(0...s.count)
        switch r.int(0...2) {
        case 0: s.insert(r.pick(alphabet).unicodeScalars.first!, at: at)
        case 1: if !s.isEmpty { s.remove(at: min(at, s.count - 1)) }
        default: if !s.isEmpty { s[min(at, s.count - 1)] = r.scalar() }
        }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s)
        return String(v)
      }
    }
  }

  func testPositionsParseExactlyAndRoundTrip() {
    let alphabet = ["p", "s", "+", "0", "1", "2", "9", "a", "l", "all", "response", "-", " ", "٣", "00", "1000000"]
    let inputs = candidates(alphabet) { r in
      switch r.int(0...3) {
      case 0: return r.pick(["all", "response"])
      case 1: return "p\(r.int(0...9_999_999))"
      case 2: return "s\(r.int(0...30))"
      default: return r.bool() ? "p\(r.int(0...5))+s\(r.int(0...5))" : "s\(r.int(0...5))+p\(r.int(0...5))"
      }
    } + ["p2+", "+s2", "p2++s2", "p+2", "p-1", "p2+p3", "s1+s1", "p0", "p0+s0", "P2", "p２", "p2 ", "p1000001", "p99999999999999999999"]
    var accepted = 0
    for text in inputs {
      // The oracle: all | response | one or two parts [ps]DIGITS{1,7}, kinds distinct, each ≤ 10⁶, sum > 0.
      var expected = matches("all|response", text)
      if !expected, matches("[ps][0-9]{1,7}(\\+[ps][0-9]{1,7})?", text) {
        let parts = text.split(separator: "+")
        let values = parts.map { Int($0.dropFirst())! }
        expected = Set(parts.map(\.first!)).count == parts.count && values.allSatisfy { $0 <= 1_000_000 } && values.reduce(0, +) > 0
      }
      do {
        let p = try PositionSet(parsing: text)
        XCTAssertTrue(expected, "accepted \(text.debugDescription) as \(p)")
        XCTAssertEqual(try PositionSet(parsing: p.description), p, "print → parse of \(text.debugDescription)")
        XCTAssertEqual(try PositionSet(parsing: p.description).description, p.description)
        accepted += 1
      } catch {
        XCTAssertFalse(expected, "refused \(text.debugDescription): \(error)")
        assertOneLine(error, text)
      }
    }
    XCTAssertGreaterThan(accepted, RandomInput.cases / 4, "the generator should hit the grammar often")
  }

  func testShardSpecsParseExactlyAndRoundTrip() {
    let alphabet = ["0", "1", "3", "9", "/", "-", "+", " ", "x", "٣"]
    let inputs = candidates(alphabet) { r in
      let n = r.int(1...999_999)
      return "\(r.int(0...(n - 1)))/\(n)"
    } + ["0/0", "1/1", "-1/2", "+0/2", "0/2/3", "/2", "0/", "0/1000000", "99999999999999999999/1", " 0/1"]
    for text in inputs {
      var expected = false
      if matches("[0-9]{1,6}/[0-9]{1,6}", text) {
        let p = text.split(separator: "/").map { Int($0)! }
        expected = p[1] >= 1 && p[0] < p[1]
      }
      if let s = ShardSpec(parsing: text) {
        XCTAssertTrue(expected, "accepted \(text.debugDescription)")
        XCTAssertEqual(ShardSpec(parsing: s.description), s)
      } else {
        XCTAssertFalse(expected, "refused \(text.debugDescription)")
      }
    }
  }

  func testLayerListsParseExactlyAndRoundTrip() {
    let alphabet = ["0", "1", "5", "9", ",", " ", ",,", "-", "+", "x", "1e3", "٣"]
    let inputs = candidates(alphabet) { r in
      (0...r.int(0...4)).map { _ in "\(r.int(0...999_999_999))" }.joined(separator: r.bool() ? "," : ", ")
    } + ["", ",", "3,", ",3", "1234567890", "+3", "-0", " 3 ", "3,,4", "3,3", "3, 03", "0,00"]
    for text in inputs {
      let entries = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      // Well-formed, and no value given twice ("3,03" repeats 3).
      let expected = entries.allSatisfy { matches("[0-9]{1,9}", $0) } && Set(entries.compactMap { Int($0) }).count == entries.count
      do {
        let layers = try Check.integers(text, "--layers")
        XCTAssertTrue(expected, "accepted \(text.debugDescription) as \(layers)")
        XCTAssertEqual(try Check.integers(layers.map(String.init).joined(separator: ","), "--layers"), layers)
      } catch {
        XCTAssertFalse(expected, "refused \(text.debugDescription): \(error)")
        assertOneLine(error, text)
      }
    }
  }

  func testFactorListsParseExactlyAndRoundTrip() {
    let alphabet = ["0", "1", "2.5", "-", "e", "E", "9", ".", ",", " ", "inf", "nan", "1e400", "0x1p3", "x"]
    let inputs = candidates(alphabet) { r in
      (0...r.int(0...4)).map { _ in "\(Double(r.int(-4000...4000)) / 100)" }.joined(separator: ",")
    } + ["", "1,,2", "nan", "inf", "-inf", "1e309", "1e-400", "0x10", "1_0", " 2 ", "1,1.0", "0,-0", "2.5,25e-1"]
    for text in inputs {
      let entries = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      let expected = entries.allSatisfy { Double($0)?.isFinite ?? false } && Set(entries.compactMap { Double($0) }).count == entries.count
      do {
        let factors = try Check.numbers(text, "--factors")
        XCTAssertTrue(expected, "accepted \(text.debugDescription)")
        XCTAssertTrue(factors.allSatisfy(\.isFinite))
        XCTAssertEqual(try Check.numbers(factors.map { "\($0)" }.joined(separator: ","), "--factors"), factors)
      } catch {
        XCTAssertFalse(expected, "refused \(text.debugDescription): \(error)")
        assertOneLine(error, text)
      }
    }
  }

  func testSteerSpecsRoundTripForAnyPathAndFactor() throws {
    var r = RandomInput()
    for _ in 0..<RandomInput.cases {
      // Any non-empty path (colons, prepending marks and all) with any finite factor.
      var path = r.text(maxLength: 16) + r.pick(["", ":", ":2", ".json", "\u{600}", "a:b"])
      if path.isEmpty { path = "x" }
      let factor = Float(bitPattern: UInt32(truncatingIfNeeded: r.generator.next()))
      guard factor.isFinite else { continue }
      let spec = SteerSpec(path: path, factor: factor)
      XCTAssertEqual(try SteerSpec(parsing: spec.description), spec, "print → parse of \(spec.description.debugDescription)")
    }
    let alphabet = ["a", ".json", ":", "2", "-1.5", "e9", "inf", "nan", "/", " ", "\u{600}"]
    var random = RandomInput(seed: RandomInput.seed + 1)
    for _ in 0..<RandomInput.cases {
      let text = random.text(from: alphabet)
      do {
        let spec = try SteerSpec(parsing: text)
        XCTAssertFalse(spec.path.isEmpty, "empty path from \(text.debugDescription)")
        XCTAssertTrue(spec.factor.isFinite)
        XCTAssertEqual(try SteerSpec(parsing: spec.description), spec)
        // Exact: the bytes before the last colon and the number after it, or the whole text at factor 1.
        let bytes = Array(text.utf8)
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")), let f = Float(String(decoding: bytes[(colon + 1)...], as: UTF8.self)) {
          XCTAssertEqual(Array(spec.path.utf8), Array(bytes[..<colon]), text.debugDescription)
          XCTAssertEqual(spec.factor, f)
        } else {
          XCTAssertEqual(Array(spec.path.utf8), bytes, text.debugDescription)
          XCTAssertEqual(spec.factor, 1)
        }
      } catch {
        assertOneLine(error, text)
      }
    }
    XCTAssertThrowsError(try SteerSpec(parsing: "x.json:inf"))
    XCTAssertThrowsError(try SteerSpec(parsing: ":2"))
    XCTAssertThrowsError(try SteerSpec(parsing: ""))
    XCTAssertEqual(try SteerSpec(parsing: "a:b.json"), SteerSpec(path: "a:b.json", factor: 1))
    XCTAssertEqual(try SteerSpec(parsing: "dir/x.json:-2.5"), SteerSpec(path: "dir/x.json", factor: -2.5))
  }
}

import CLICommon
import XCTest

/// Stop strings found across token boundaries, and only whole characters sent.
final class StopMatcherTests: XCTestCase {
  private func run(_ pieces: [String], stops: [String]) -> (sent: String, text: String, stopped: Bool) {
    var m = StopMatcher(stops: stops)
    var sent: [UInt8] = []
    for p in pieces {
      sent += m.append(Array(p.utf8))
      if m.stopped { break }
    }
    sent += m.finish()
    return (String(decoding: sent, as: UTF8.self), String(decoding: m.completeText, as: UTF8.self), m.stopped)
  }

  func testStopAcrossTokensIsNeverSent() {
    let r = run(["Hello", " wor", "ld\n\nUs", "er: more"], stops: ["\n\nUser:"])
    XCTAssertEqual(r.sent, "Hello world")
    XCTAssertEqual(r.text, "Hello world")
    XCTAssertTrue(r.stopped)
  }

  func testEarliestOfSeveralStops() {
    XCTAssertEqual(run(["a", "bXc", "Yd"], stops: ["Y", "X"]).sent, "ab")
  }

  func testWithoutAStopEverythingIsSent() {
    let r = run(["no ", "stop ", "here"], stops: ["zzz"])
    XCTAssertEqual(r.sent, "no stop here")
    XCTAssertFalse(r.stopped)
  }

  func testSplitCharactersWaitForTheirLastByte() {
    var m = StopMatcher(stops: [])
    let euro = Array("€".utf8)
    XCTAssertEqual(m.append([0x61] + euro.prefix(2)), [0x61])
    XCTAssertEqual(m.append(Array(euro.suffix(1))), Array(euro))
  }
}

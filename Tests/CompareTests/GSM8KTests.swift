import Compare
import Foundation
import TestSupport
import XCTest

/// GSM8K scoring against lm-eval's own filter and metric (scripts/gsm8k_reference.py): 622 responses,
/// the named edge cases among them, extracted and judged identically.
final class GSM8KTests: XCTestCase {
  func testExtractionAndExactMatchEqualLMEval() throws {
    let cases = try Fixtures.jsonLines("gsm8k/extraction.jsonl")
    XCTAssertEqual(cases.count, 622)
    for c in cases {
      let response = c["response"] as! String, target = c["target"] as! String
      XCTAssertEqual(GSM8K.extract(response) ?? "[invalid]", c["extracted"] as! String, "extracted from \(response.debugDescription)")
      XCTAssertEqual(GSM8K.isCorrect(response, target: target), c["correct"] as! Bool, "\(response.debugDescription) against \(target)")
    }
  }

  func testNamedEdgeCases() {
    XCTAssertTrue(GSM8K.isCorrect("The answer is 1,000.", target: "1000"), "commas and a trailing period")
    XCTAssertTrue(GSM8K.isCorrect("It drops to -5 degrees", target: "-5"), "a negative number")
    XCTAssertTrue(GSM8K.isCorrect("#### 42", target: "42"))
    XCTAssertTrue(GSM8K.isCorrect("She pays $1,000.50.", target: "1000.50"))
    XCTAssertFalse(GSM8K.isCorrect("She pays $1,000.50.", target: "1000.5"), "exact match, as lm-eval: 1000.50 is not 1000.5")
    XCTAssertNil(GSM8K.extract("I cannot tell."), "no number at all")
    XCTAssertFalse(GSM8K.isCorrect("I cannot tell.", target: "7"))
    XCTAssertEqual(GSM8K.truncate("It is 42.\nQuestion: and 43?"), "It is 42.\n")
  }

  func testLoadsTheTestSetAndRefusesAnAnswerWithoutItsFinalNumber() throws {
    let data = try Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("experiments/data/gsm8k/test.jsonl"))
    let problems = try GSM8K.load(data, file: "test.jsonl")
    XCTAssertEqual(problems.count, 1319)
    XCTAssertEqual(problems[0].target, "18")
    XCTAssertThrowsError(try GSM8K.load(Data(#"{"question": "q", "answer": "no number"}"#.utf8), file: "bad.jsonl")) {
      XCTAssertEqual("\($0)", "bad.jsonl:1: the answer has no '#### N' final number")
    }
  }
}

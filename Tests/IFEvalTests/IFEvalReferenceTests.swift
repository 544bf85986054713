import Foundation
import IFEval
import TestSupport
import XCTest

/// The scorer against Google's checkers (lm-eval 0.4's copy), verdict for verdict, on the cases
/// scripts/ifeval_reference.py drew: all 25 instruction ids, strict and loose, and langdetect's
/// answer (seed 0) for every response. Fixture: Tests/Fixtures/ifeval/reference.tar.gz.
final class IFEvalReferenceTests: XCTestCase {
  struct Language: Decodable {
    let text: String
    let language: String?
  }

  static let directory: String? = try? Fixtures.unpack("ifeval/reference.tar.gz") + "/ifeval-reference"

  private func read(_ name: String) throws -> Data {
    let dir = try XCTUnwrap(Self.directory, "Tests/Fixtures/ifeval/reference.tar.gz did not unpack")
    return try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
  }

  private func verdicts(_ name: String) throws -> [IFEvalVerdict] {
    try IFEvalFilesReader.lines(try read(name)).map { try JSONDecoder().decode(IFEvalVerdict.self, from: $0) }
  }

  func testEveryVerdictEqualsTheReference() throws {
    let judgement = try IFEvalJudgement(
      inputData: try read("input_data.jsonl"), inputFile: "input_data.jsonl", responses: try read("input_response_data.jsonl"),
      responsesFile: "input_response_data.jsonl", language: try LanguageDetector.bundled())
    let ids = Set(judgement.strict.flatMap(\.instruction_id_list))
    XCTAssertEqual(ids.count, InstructionID.allCases.count, "the fixture covers every instruction id")
    XCTAssertGreaterThanOrEqual(judgement.strict.count, 2000)
    for (mode, ours, theirs) in [("strict", judgement.strict, try verdicts("eval_results_strict.jsonl")), ("loose", judgement.loose, try verdicts("eval_results_loose.jsonl"))] {
      XCTAssertEqual(ours.count, theirs.count)
      var wrong: [String: Int] = [:]
      var shown = 0
      for (a, b) in zip(ours, theirs) where a != b {
        for (k, id) in a.instruction_id_list.enumerated() where a.follow_instruction_list[k] != b.follow_instruction_list[k] {
          wrong[id, default: 0] += 1
        }
        if shown < 8 {
          shown += 1
          print("\(mode) differs: \(a.instruction_id_list) ours \(a.follow_instruction_list) reference \(b.follow_instruction_list): \(a.response.debugDescription.prefix(300))")
        }
      }
      XCTAssertEqual(wrong, [:], "\(mode): disagreements per instruction id")
    }
  }

  func testLanguageIdentificationAgreesWithLangdetect() throws {
    let detector = try LanguageDetector.bundled()
    let cases = try IFEvalFilesReader.lines(try read("language.jsonl")).map { try JSONDecoder().decode(Language.self, from: $0) }
    var agree = 0
    var shown = 0
    for c in cases {
      let ours = detector.detect(Array(c.text.unicodeScalars))
      if ours == c.language {
        agree += 1
      } else if shown < 10 {
        shown += 1
        print("language differs: ours \(ours ?? "none") langdetect \(c.language ?? "none"): \(c.text.debugDescription.prefix(200))")
      }
    }
    let rate = Double(agree) / Double(cases.count)
    print("language identification agrees with langdetect on \(agree) of \(cases.count) (\(rate))")
    XCTAssertGreaterThanOrEqual(rate, 0.99)
  }
}

/// Non-blank lines of a JSON Lines file.
enum IFEvalFilesReader {
  static func lines(_ data: Data) -> [Data] {
    data.split(separator: UInt8(ascii: "\n")).filter { !$0.isEmpty }.map { Data($0) }
  }
}

/// The benchmark appends IFEval's own description of an instruction to base queries:
/// `Instruction.phrasing` writes what Google's `build_description` returns, for every case.
final class IFEvalPhrasingTests: XCTestCase {
  struct Line: Decodable {
    let instruction_id_list: [String]
    let kwargs: [[String: JSONValue]]
    let descriptions: [String]
  }

  func testPhrasingEqualsBuildDescription() throws {
    let dir = try XCTUnwrap(IFEvalReferenceTests.directory)
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/descriptions.jsonl"))
    var checked = 0
    for line in IFEvalFilesReader.lines(data) {
      let l = try JSONDecoder().decode(Line.self, from: line)
      for (k, id) in l.instruction_id_list.enumerated() {
        let phrasing = try Instruction(id: id, kwargs: l.kwargs[k]).phrasing
        XCTAssertEqual(Array(phrasing.utf8), Array(l.descriptions[k].utf8), "\(id): \(phrasing) ≠ \(l.descriptions[k])")
        checked += 1
      }
    }
    XCTAssertGreaterThan(checked, 2500)
  }
}

import Foundation
import IFEval
import XCTest

/// Bad IFEval input gets one line naming the file and line and what to fix; nothing is scored
/// from a guess (Google's code draws a missing kwarg at random).
final class IFEvalInputTests: XCTestCase {
  private func error(inputs: String, responses: String = "") -> String {
    do {
      _ = try IFEvalJudgement(
        inputData: Data(inputs.utf8), inputFile: "in.jsonl", responses: Data(responses.utf8), responsesFile: "r.jsonl",
        language: try LanguageDetector.bundled())
      return ""
    } catch {
      return "\(error)"
    }
  }

  func testUnknownInstructionIdNamesTheLine() {
    let e = error(inputs: #"{"key": 1, "prompt": "a", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}"# + "\n"
      + #"{"key": 2, "prompt": "b", "instruction_id_list": ["format:shout"], "kwargs": [{}]}"#)
    XCTAssertTrue(e.hasPrefix("in.jsonl:2: unknown instruction id 'format:shout'"), e)
    XCTAssertFalse(e.contains("\n"))
  }

  func testMissingAndMistypedKwargs() {
    let missing = error(inputs: #"{"prompt": "a", "instruction_id_list": ["detectable_format:number_bullet_lists"], "kwargs": [{}]}"#)
    XCTAssertEqual(missing, "in.jsonl:1: detectable_format:number_bullet_lists needs the kwarg num_bullets (a non-negative integer)")
    let zero = error(inputs: #"{"prompt": "a", "instruction_id_list": ["keywords:frequency"], "kwargs": [{"keyword": "x", "frequency": true, "relation": "at least"}]}"#)
    XCTAssertEqual(zero, "in.jsonl:1: keywords:frequency: the kwarg frequency must be a non-negative integer")
    let relation = error(inputs: #"{"prompt": "a", "instruction_id_list": ["length_constraints:number_words"], "kwargs": [{"num_words": 3, "relation": "at most"}]}"#)
    XCTAssertTrue(relation.contains("the kwarg relation must be \"less than\" or \"at least\""), relation)
    let extra = error(inputs: #"{"prompt": "a", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{"num_words": 3}]}"#)
    XCTAssertTrue(extra.contains("punctuation:no_comma takes no kwarg num_words"), extra)
    let count = error(inputs: #"{"prompt": "a", "instruction_id_list": ["punctuation:no_comma", "startend:quotation"], "kwargs": [{}]}"#)
    XCTAssertTrue(count.contains("2 instruction ids but 1 kwargs"), count)
    let pattern = error(inputs: #"{"prompt": "a", "instruction_id_list": ["keywords:existence"], "kwargs": [{"keywords": ["a+"]}]}"#)
    XCTAssertTrue(pattern.contains("regular-expression character"), pattern)
    let nth = error(inputs: #"{"prompt": "a", "instruction_id_list": ["length_constraints:nth_paragraph_first_word"], "kwargs": [{"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "so"}]}"#)
    XCTAssertTrue(nth.contains("nth_paragraph must be between 1 and num_paragraphs (2)"), nth)
  }

  func testAResponseWhosePromptIsNotInTheInputData() {
    let e = error(
      inputs: #"{"prompt": "Write a poem.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}"#,
      responses: #"{"prompt": "Write a poem.", "response": "ok"}"# + "\n\n" + #"{"prompt": "Write a poem!", "response": "ok"}"#)
    XCTAssertEqual(e, "r.jsonl:3: the response's prompt is not in the input data: 'Write a poem!'")
    let broken = error(inputs: #"{"prompt": "a", "instruction_id_list": ["punctuation:no_comma"]}"#, responses: "{\"prompt\": 1}")
    XCTAssertEqual(broken, "r.jsonl:1: not an IFEval response line {prompt, response}: the field 'prompt' has the wrong type")
  }

  /// Prompts are matched byte for byte: "é" composed and decomposed are two prompts, although Swift
  /// strings call them equal.
  func testPromptsAreMatchedByBytes() {
    let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
    let e = error(
      inputs: #"{"prompt": "\#(composed)", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}"#,
      responses: #"{"prompt": "\#(decomposed)", "response": "ok"}"#)
    XCTAssertTrue(e.contains("is not in the input data"), e)
  }

  /// The loose score also tries the response without its first line: a preamble before a JSON
  /// answer fails strict and passes loose.
  func testLooseDropsAPreambleLine() throws {
    let j = try IFEvalJudgement(
      inputData: Data(#"{"prompt": "p", "instruction_id_list": ["detectable_format:json_format"], "kwargs": [{}]}"#.utf8), inputFile: "i",
      responses: Data(#"{"prompt": "p", "response": "Here it is:\n{\"a\": 1}"}"#.utf8), responsesFile: "r", language: try LanguageDetector.bundled())
    XCTAssertEqual(j.strict.map(\.follow_all_instructions), [false])
    XCTAssertEqual(j.loose.map(\.follow_all_instructions), [true])
  }
}
